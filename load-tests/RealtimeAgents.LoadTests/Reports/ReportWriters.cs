using System.Globalization;
using System.Text;
using System.Text.Json;
using RealtimeAgents.LoadTests.Metrics;

namespace RealtimeAgents.LoadTests.Reports;

/// <summary>
/// The report in files: Markdown for people, CSV and JSON for tools, SVG for the eye. Metric
/// names, statistics and units are the same in all of them (see <see cref="MetricNames"/>), and
/// latencies are always milliseconds.
/// </summary>
public static class ReportWriters
{
    /// <summary>Writes report.md, metrics.csv, report.json and chart.svg into <paramref name="directory"/>.</summary>
    public static IReadOnlyList<string> WriteAll(RunReport report, string directory)
    {
        Directory.CreateDirectory(directory);
        var files = new List<string>
        {
            Write(directory, "report.md", Markdown(report)),
            Write(directory, "metrics.csv", Csv(report)),
            Write(directory, "report.json", Json(report)),
            Write(directory, "chart.svg", Svg.Chart(report)),
        };
        return files;
    }

    private static string Write(string directory, string name, string content)
    {
        string path = Path.Combine(directory, name);
        File.WriteAllText(path, content, new UTF8Encoding(false));
        return path;
    }

    /// <summary>The whole report as Markdown tables.</summary>
    public static string Markdown(RunReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var h = report.Header;
        var md = new StringBuilder();
        md.Append(CultureInfo.InvariantCulture, $"# Load test: {h.Scenario}\n\n{h.Description}.\n\n");
        md.Append("| run | |\n|---|---|\n");
        foreach (var (k, v) in HeaderRows(h)) md.Append(CultureInfo.InvariantCulture, $"| {k} | {Escape(v)} |\n");

        md.Append("\n## Status\n\n| step | ok | failed | failures |\n|---|---:|---:|---|\n");
        foreach (var (step, st) in report.Snapshot.Steps.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            string reasons = string.Join(", ", st.Reasons.Select(r => $"{r.Key} × {r.Value}"));
            md.Append(CultureInfo.InvariantCulture, $"| {step} | {st.OkCount} | {st.FailCount} | {Escape(reasons)} |\n");
        }

        md.Append("\n## Latency (ms)\n\n| metric | count | min | mean | ");
        md.Append(string.Join(" | ", RunReport.Percentiles.Select(RunReport.PercentileName)));
        md.Append(" | max |\n|---|---:|---:|---:|");
        md.Append(string.Concat(Enumerable.Repeat("---:|", RunReport.Percentiles.Length)));
        md.Append("---:|\n");
        foreach (var (name, hist) in report.Metrics)
        {
            md.Append(CultureInfo.InvariantCulture, $"| {name} | {hist.Count} | {RunReport.Num(RunReport.Ms(hist.Min))} | {RunReport.Num(hist.Mean / 1000)} | ");
            md.Append(string.Join(" | ", RunReport.Percentiles.Select(p => RunReport.Num(RunReport.Ms(hist.Percentile(p))))));
            md.Append(CultureInfo.InvariantCulture, $" | {RunReport.Num(RunReport.Ms(hist.Max))} |\n");
        }

        md.Append("\n## Counters\n\n| counter | value |\n|---|---:|\n");
        foreach (var (name, value) in report.Counters) md.Append(CultureInfo.InvariantCulture, $"| {name} | {value} |\n");
        if (report.Snapshot.Gauges.Count > 0)
        {
            md.Append("\n## Gauges\n\n| gauge | value | unit |\n|---|---:|---|\n");
            foreach (var (name, (value, unit)) in report.Snapshot.Gauges) md.Append(CultureInfo.InvariantCulture, $"| {name} | {RunReport.Num(value)} | {unit} |\n");
        }
        if (report.Thresholds.Count > 0)
        {
            md.Append("\n## Thresholds\n\n| threshold | actual | result |\n|---|---:|---|\n");
            foreach (var t in report.Thresholds)
            {
                md.Append(CultureInfo.InvariantCulture, $"| `{t.Threshold.Text}` | {(t.Actual is double a ? RunReport.Num(a) : "missing")} | {(t.Passed ? "met" : "**missed**")} |\n");
            }
        }
        md.Append("\nPercentiles come from HdrHistogram (error under ")
          .Append((Histogram.RelativeError * 100).ToString("0.##", CultureInfo.InvariantCulture))
          .Append("%); the chart is chart.svg.\n");
        return md.ToString();
    }

    /// <summary>One figure per line: <c>kind,name,stat,value,unit</c>.</summary>
    public static string Csv(RunReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var csv = new StringBuilder("kind,name,stat,value,unit\n");
        void Line(string kind, string name, string stat, double value, string unit) =>
            csv.Append(CultureInfo.InvariantCulture, $"{kind},{CsvField(name)},{stat},{value.ToString("0.###", CultureInfo.InvariantCulture)},{CsvField(unit)}\n");
        foreach (var (name, h) in report.Metrics)
        {
            Line("latency", name, "count", h.Count, "count");
            Line("latency", name, "min", RunReport.Ms(h.Min), "ms");
            Line("latency", name, "mean", h.Mean / 1000, "ms");
            Line("latency", name, "stddev", h.StdDev / 1000, "ms");
            foreach (double p in RunReport.Percentiles) Line("latency", name, RunReport.PercentileName(p), RunReport.Ms(h.Percentile(p)), "ms");
            Line("latency", name, "max", RunReport.Ms(h.Max), "ms");
        }
        foreach (var (name, value) in report.Counters) Line("counter", name, "value", value, "count");
        foreach (var (name, (value, unit)) in report.Snapshot.Gauges) Line("gauge", name, "value", value, unit);
        foreach (var (step, st) in report.Snapshot.Steps.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            Line("step", step, "ok", st.OkCount, "count");
            Line("step", step, "failed", st.FailCount, "count");
        }
        foreach (var t in report.Thresholds) Line("threshold", t.Threshold.Text, t.Passed ? "met" : "missed", t.Actual ?? double.NaN, "");
        return csv.ToString();
    }

    /// <summary>The report as one JSON document.</summary>
    public static string Json(RunReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            var h = report.Header;
            w.WriteStartObject();
            w.WriteStartObject("header");
            w.WriteString("scenario", h.Scenario);
            w.WriteString("description", h.Description);
            w.WriteString("mode", h.Mode);
            w.WriteNumber("nodes", h.Nodes);
            w.WriteString("model", h.Model);
            w.WriteString("commit", h.Commit);
            w.WriteString("machine", h.Machine);
            w.WriteString("os", h.Os);
            w.WriteNumber("cores", h.Cores);
            w.WriteString("cpu", h.Cpu);
            w.WriteNumber("memoryGb", Math.Round(h.MemoryGb, 1));
            w.WriteString("runtime", h.Runtime);
            w.WriteString("loadAverage", h.LoadAverage);
            w.WriteString("startedAt", h.StartedAt.ToString("O", CultureInfo.InvariantCulture));
            w.WriteNumber("wallSeconds", Math.Round(h.WallSeconds, 1));
            w.WriteNumber("seed", h.Seed);
            w.WriteString("commandLine", h.CommandLine);
            w.WriteStartObject("settings");
            foreach (var (k, v) in h.Settings) w.WriteString(k, v);
            w.WriteEndObject();
            w.WriteEndObject();

            w.WriteBoolean("passed", report.Passed);
            w.WriteStartObject("latencyMs");
            foreach (var (name, hist) in report.Metrics)
            {
                w.WriteStartObject(name);
                w.WriteNumber("count", hist.Count);
                w.WriteNumber("min", RunReport.Ms(hist.Min));
                w.WriteNumber("mean", Math.Round(hist.Mean / 1000, 3));
                w.WriteNumber("stddev", Math.Round(hist.StdDev / 1000, 3));
                foreach (double p in RunReport.Percentiles) w.WriteNumber(RunReport.PercentileName(p), RunReport.Ms(hist.Percentile(p)));
                w.WriteNumber("max", RunReport.Ms(hist.Max));
                w.WriteEndObject();
            }
            w.WriteEndObject();
            w.WriteStartObject("counters");
            foreach (var (name, value) in report.Counters) w.WriteNumber(name, value);
            w.WriteEndObject();
            w.WriteStartObject("gauges");
            foreach (var (name, (value, unit)) in report.Snapshot.Gauges)
            {
                w.WriteStartObject(name);
                w.WriteNumber("value", Math.Round(value, 3));
                w.WriteString("unit", unit);
                w.WriteEndObject();
            }
            w.WriteEndObject();
            w.WriteStartObject("steps");
            foreach (var (step, st) in report.Snapshot.Steps.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            {
                w.WriteStartObject(step);
                w.WriteNumber("ok", st.OkCount);
                w.WriteNumber("failed", st.FailCount);
                w.WriteStartObject("failures");
                foreach (var (reason, n) in st.Reasons) w.WriteNumber(reason, n);
                w.WriteEndObject();
                w.WriteEndObject();
            }
            w.WriteEndObject();
            w.WriteStartArray("thresholds");
            foreach (var t in report.Thresholds)
            {
                w.WriteStartObject();
                w.WriteString("threshold", t.Threshold.Text);
                if (t.Actual is double a) w.WriteNumber("actual", Math.Round(a, 3));
                else w.WriteNull("actual");
                w.WriteBoolean("passed", t.Passed);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteStartObject("timeline");
            w.WriteNumber("intervalSeconds", report.Snapshot.Interval.TotalSeconds);
            foreach (var (name, line) in report.Snapshot.Timelines.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            {
                w.WriteStartArray(name);
                for (int i = 0; i < line.Count; i++)
                {
                    if (line[i].Count == 0) continue;
                    w.WriteStartObject();
                    w.WriteNumber("t", i * report.Snapshot.Interval.TotalSeconds);
                    w.WriteNumber("count", line[i].Count);
                    w.WriteNumber("p50", RunReport.Ms(line[i].Percentile(50)));
                    w.WriteNumber("p99", RunReport.Ms(line[i].Percentile(99)));
                    w.WriteEndObject();
                }
                w.WriteEndArray();
            }
            w.WriteEndObject();
            w.WriteStartArray("processSamples");
            foreach (var s in report.Snapshot.Samples)
            {
                w.WriteStartObject();
                w.WriteNumber("t", Math.Round(s.Seconds, 2));
                w.WriteNumber("pid", s.Pid);
                w.WriteNumber("rssMb", Math.Round(s.RssMb, 1));
                w.WriteNumber("threads", s.Threads);
                w.WriteNumber("fds", s.OpenFiles);
                w.WriteNumber("cpuSeconds", Math.Round(s.CpuSeconds, 2));
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(stream.ToArray()) + "\n";
    }

    internal static IEnumerable<(string Key, string Value)> HeaderRows(RunHeader h)
    {
        yield return ("scenario", h.Scenario);
        yield return ("mode", $"{h.Mode}, {h.Nodes} node(s)");
        yield return ("load", h.Model);
        foreach (var (k, v) in h.Settings) yield return (k, v);
        yield return ("commit", h.Commit);
        yield return ("machine", $"{h.Machine}: {h.Cores} cores, {h.Cpu}, {h.MemoryGb.ToString("0.#", CultureInfo.InvariantCulture)} GB, {h.Os}");
        yield return ("runtime", h.Runtime);
        yield return ("load average", $"{h.LoadAverage} (1 min, start → end; {h.Cores} cores)");
        yield return ("started", h.StartedAt.ToString("yyyy-MM-dd HH:mm:ss 'UTC'", CultureInfo.InvariantCulture));
        yield return ("wall time", $"{h.WallSeconds.ToString("0.#", CultureInfo.InvariantCulture)} s");
        yield return ("seed", h.Seed.ToString(CultureInfo.InvariantCulture));
        yield return ("command", h.CommandLine);
    }

    private static string Escape(string s) => s.Replace("|", "\\|", StringComparison.Ordinal);

    private static string CsvField(string s) =>
        s.IndexOfAny([',', '"', '\n']) >= 0 ? "\"" + s.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : s;
}
