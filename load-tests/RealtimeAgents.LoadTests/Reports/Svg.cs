using System.Globalization;
using System.Net;
using System.Text;
using RealtimeAgents.LoadTests.Metrics;

namespace RealtimeAgents.LoadTests.Reports;

/// <summary>
/// A self-contained SVG: one panel per timeline metric (p50 and p99 per interval, in ms, over the
/// measured seconds) and, when processes were sampled, one of their resident memory.
/// </summary>
public static class Svg
{
    private const int Width = 900;
    private const int PanelHeight = 220;
    private const int Left = 70;
    private const int Right = 20;
    private const int Top = 40;
    private const int Bottom = 40;

    private sealed record Series(string Name, string Color, IReadOnlyList<(double X, double Y)> Points);

    /// <summary>The chart of a run.</summary>
    public static string Chart(RunReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var panels = new List<(string Title, string Unit, List<Series> Series)>();
        double step = report.Snapshot.Interval.TotalSeconds;
        foreach (string metric in Recorder.TimelineMetrics)
        {
            if (!report.Snapshot.Timelines.TryGetValue(metric, out var line)) continue;
            var slots = line.Select((h, i) => (h, t: (i + 0.5) * step)).Where(x => x.h.Count > 0).ToList();
            if (slots.Count == 0) continue;
            panels.Add(($"{metric} per {step.ToString("0.##", CultureInfo.InvariantCulture)} s", "ms",
            [
                new Series("p50", "#2b6cb0", slots.Select(x => (x.t, RunReport.Ms(x.h.Percentile(50)))).ToList()),
                new Series("p99", "#c53030", slots.Select(x => (x.t, RunReport.Ms(x.h.Percentile(99)))).ToList()),
            ]));
        }
        var byPid = report.Snapshot.Samples.Where(s => s.Pid != Environment.ProcessId).GroupBy(s => s.Pid).ToList();
        if (byPid.Count > 0)
        {
            string[] colors = ["#2f855a", "#6b46c1", "#b7791f", "#2c7a7b"];
            panels.Add(("resident memory of the server processes (from the start, warm-up included)", "MB", byPid.Select((g, i) =>
                new Series($"pid {g.Key}", colors[i % colors.Length], g.Select(s => (s.Seconds, s.RssMb)).ToList())).ToList()));
        }

        int height = Math.Max(1, panels.Count) * PanelHeight + 30;
        var svg = new StringBuilder();
        svg.Append(CultureInfo.InvariantCulture, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{Width}\" height=\"{height}\" viewBox=\"0 0 {Width} {height}\" font-family=\"sans-serif\" font-size=\"12\">\n");
        svg.Append(CultureInfo.InvariantCulture, $"<rect width=\"{Width}\" height=\"{height}\" fill=\"white\"/>\n");
        svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{Left}\" y=\"20\" font-size=\"14\" font-weight=\"bold\">{Esc($"{report.Header.Scenario} · {report.Header.Mode} · {report.Header.Model}")}</text>\n");
        if (panels.Count == 0)
        {
            svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{Left}\" y=\"{Top + 20}\">No timeline was recorded.</text>\n");
        }
        for (int i = 0; i < panels.Count; i++) Panel(svg, 30 + i * PanelHeight, panels[i].Title, panels[i].Unit, panels[i].Series);
        svg.Append("</svg>\n");
        return svg.ToString();
    }

    private static void Panel(StringBuilder svg, int y0, string title, string unit, List<Series> series)
    {
        int plotTop = y0 + Top - 20;
        int plotHeight = PanelHeight - Top - Bottom + 20;
        int plotWidth = Width - Left - Right;
        var points = series.SelectMany(s => s.Points).ToList();
        double xStep = Nice(Math.Max(1, points.Max(p => p.X)) / 4);
        double yStep = Nice(Math.Max(0.001, points.Max(p => p.Y)) / 4);
        int xTicks = (int)Math.Ceiling(points.Max(p => p.X) / xStep - 1e-9);
        int yTicks = (int)Math.Ceiling(points.Max(p => p.Y) / yStep - 1e-9);
        xTicks = Math.Max(1, xTicks);
        yTicks = Math.Max(1, yTicks);
        double xMax = xStep * xTicks;
        double yMax = yStep * yTicks;
        double X(double x) => Left + x / xMax * plotWidth;
        double Y(double y) => plotTop + plotHeight - y / yMax * plotHeight;

        svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{Left}\" y=\"{plotTop - 6}\" font-weight=\"bold\">{Esc(title)}</text>\n");
        for (int t = 0; t <= yTicks; t++)
        {
            double v = yStep * t;
            svg.Append(CultureInfo.InvariantCulture, $"<line x1=\"{Left}\" x2=\"{Left + plotWidth}\" y1=\"{F(Y(v))}\" y2=\"{F(Y(v))}\" stroke=\"#e2e8f0\"/>");
            svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{Left - 6}\" y=\"{F(Y(v) + 4)}\" text-anchor=\"end\">{Esc(Label(v))} {unit}</text>\n");
        }
        for (int t = 0; t <= xTicks; t++)
        {
            double s = xStep * t;
            svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{F(X(s))}\" y=\"{plotTop + plotHeight + 16}\" text-anchor=\"middle\">{Esc(Label(s))} s</text>\n");
        }
        svg.Append(CultureInfo.InvariantCulture, $"<rect x=\"{Left}\" y=\"{plotTop}\" width=\"{plotWidth}\" height=\"{plotHeight}\" fill=\"none\" stroke=\"#a0aec0\"/>\n");
        for (int i = 0; i < series.Count; i++)
        {
            var s = series[i];
            string path = string.Join(" ", s.Points.Select(p => $"{F(X(p.X))},{F(Y(p.Y))}"));
            svg.Append(CultureInfo.InvariantCulture, $"<polyline fill=\"none\" stroke=\"{s.Color}\" stroke-width=\"1.5\" points=\"{path}\"/>\n");
            int lx = Left + plotWidth - 110 * (series.Count - i);
            svg.Append(CultureInfo.InvariantCulture, $"<line x1=\"{lx}\" x2=\"{lx + 20}\" y1=\"{plotTop - 10}\" y2=\"{plotTop - 10}\" stroke=\"{s.Color}\" stroke-width=\"2\"/>");
            svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{lx + 25}\" y=\"{plotTop - 6}\">{Esc(s.Name)}</text>\n");
        }
    }

    /// <summary>1, 2 or 5 times a power of ten, at least <paramref name="v"/>: a tick step.</summary>
    internal static double Nice(double v)
    {
        double p = Math.Pow(10, Math.Floor(Math.Log10(v)));
        foreach (double m in new[] { 1.0, 2, 5, 10 })
        {
            if (m * p >= v) return m * p;
        }
        return 10 * p;
    }

    private static string Label(double v) => v.ToString(v >= 10 ? "0" : "0.##", CultureInfo.InvariantCulture);

    private static string F(double v) => v.ToString("0.#", CultureInfo.InvariantCulture);

    private static string Esc(string s) => WebUtility.HtmlEncode(s);
}
