using Spectre.Console;

namespace RealtimeAgents.LoadTests.Reports;

/// <summary>The summary printed at the end of a run.</summary>
internal static class ConsoleReport
{
    public static void Print(RunReport report, IAnsiConsole console)
    {
        var header = new Table().Border(TableBorder.Rounded).Title($"[bold]load test: {Markup.Escape(report.Header.Scenario)}[/]")
            .AddColumn("run").AddColumn("");
        foreach (var (k, v) in ReportWriters.HeaderRows(report.Header)) header.AddRow(Markup.Escape(k), Markup.Escape(v));
        console.Write(header);

        var status = new Table().Border(TableBorder.Rounded).Title("[bold]status[/]")
            .AddColumn("step").AddColumn(new TableColumn("ok").RightAligned()).AddColumn(new TableColumn("failed").RightAligned())
            .AddColumn("failures");
        foreach (var (step, st) in report.Snapshot.Steps.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            status.AddRow(Markup.Escape(step), st.OkCount.ToString("N0", null),
                st.FailCount == 0 ? "0" : $"[red]{st.FailCount:N0}[/]",
                Markup.Escape(string.Join(", ", st.Reasons.Select(r => $"{r.Key} × {r.Value}"))));
        }
        console.Write(status);

        var latency = new Table().Border(TableBorder.Rounded).Title("[bold]latency (ms)[/]").AddColumn("metric")
            .AddColumn(new TableColumn("count").RightAligned()).AddColumn(new TableColumn("mean").RightAligned());
        foreach (double p in RunReport.Percentiles) latency.AddColumn(new TableColumn(RunReport.PercentileName(p)).RightAligned());
        latency.AddColumn(new TableColumn("max").RightAligned());
        foreach (var (name, h) in report.Metrics)
        {
            var cells = new List<string> { Markup.Escape(name), h.Count.ToString("N0", null), RunReport.Num(h.Mean / 1000) };
            cells.AddRange(RunReport.Percentiles.Select(p => RunReport.Num(RunReport.Ms(h.Percentile(p)))));
            cells.Add(RunReport.Num(RunReport.Ms(h.Max)));
            latency.AddRow([.. cells]);
        }
        console.Write(latency);

        var figures = new Table().Border(TableBorder.Rounded).Title("[bold]counters and gauges[/]").AddColumn("name")
            .AddColumn(new TableColumn("value").RightAligned()).AddColumn("unit");
        foreach (var (name, value) in report.Counters)
        {
            bool bad = value > 0 && name is "gaps" or "duplicates" or "reorders" or "incomplete";
            figures.AddRow(Markup.Escape(name), bad ? $"[red]{value:N0}[/]" : value.ToString("N0", null), "");
        }
        foreach (var (name, (value, unit)) in report.Snapshot.Gauges) figures.AddRow(Markup.Escape(name), RunReport.Num(value), Markup.Escape(unit));
        console.Write(figures);

        if (report.Thresholds.Count > 0)
        {
            var thresholds = new Table().Border(TableBorder.Rounded).Title("[bold]thresholds[/]").AddColumn("threshold")
                .AddColumn(new TableColumn("actual").RightAligned()).AddColumn("result");
            foreach (var t in report.Thresholds)
            {
                thresholds.AddRow(Markup.Escape(t.Threshold.Text), t.Actual is double a ? RunReport.Num(a) : "missing",
                    t.Passed ? "[green]met[/]" : "[red]missed[/]");
            }
            console.Write(thresholds);
        }
    }
}
