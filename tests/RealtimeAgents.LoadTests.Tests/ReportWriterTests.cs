using System.Globalization;
using System.Text.Json;
using System.Xml.Linq;
using RealtimeAgents.LoadTests.Metrics;
using RealtimeAgents.LoadTests.Reports;
using Xunit;

namespace RealtimeAgents.LoadTests.Tests;

public class ReportWriterTests
{
    private static RunReport Report()
    {
        var rec = new Recorder { Interval = TimeSpan.FromMilliseconds(50) };
        rec.StartClock();
        for (int i = 1; i <= 100; i++)
        {
            rec.Record(MetricNames.Ttft, i);
            rec.Record(MetricNames.Delivery, i / 10.0);
        }
        Thread.Sleep(60); // a second timeline interval
        rec.Record(MetricNames.Ttft, 7);
        rec.Count(MetricNames.Events, 1234);
        rec.Ok("submit");
        rec.Fail("stream", "timeout");
        rec.Fail("stream", "timeout");
        rec.Gauge("server1.rss_mb.max", 120.5, "MB");
        rec.AddSample(new Sample(0.5, 42, 100, 20, 200, 1));
        rec.AddSample(new Sample(1.5, 42, 120.5, 21, 210, 1.5));
        var snapshot = rec.Snapshot();
        var settings = new Settings { Scenario = "ttft", Urls = [new Uri("http://127.0.0.1:5080/hubs/agents")], Mode = "embedded" };
        var header = RunHeader.Describe(settings, "a test run", DateTimeOffset.UnixEpoch, 12.5, "ttft --users 3");
        return new RunReport(header, snapshot,
        [
            Threshold.Parse("ttft.p99<50ms").Evaluate(snapshot),
            Threshold.Parse("gaps==0").Evaluate(snapshot),
        ]);
    }

    [Fact]
    public void Csv_HasOneFigurePerLine_WithStableNamesStatisticsAndUnits()
    {
        string[] lines = ReportWriters.Csv(Report()).TrimEnd('\n').Split('\n');
        Assert.Equal("kind,name,stat,value,unit", lines[0]);
        Assert.All(lines, l => Assert.Equal(5, l.Split(',').Length));
        var figures = lines.Skip(1).Select(l => l.Split(',')).ToDictionary(f => $"{f[0]},{f[1]},{f[2]}", f => (Value: f[3], Unit: f[4]));
        Assert.Equal(("101", "count"), figures["latency,ttft,count"]);
        Assert.Equal(("1", "ms"), figures["latency,ttft,min"]);
        Assert.Equal(("100", "ms"), figures["latency,ttft,max"]);
        AssertNear(50, figures["latency,ttft,p50"].Value);
        AssertNear(9.9, figures["latency,delivery,p99"].Value);
        Assert.Equal("ms", figures["latency,delivery,p99.9"].Unit);
        Assert.Equal(("0", "count"), figures["counter,gaps,value"]);
        Assert.Equal(("1234", "count"), figures["counter,events,value"]);
        Assert.Equal(("120.5", "MB"), figures["gauge,server1.rss_mb.max,value"]);
        Assert.Equal(("2", "count"), figures["step,stream,failed"]);
        AssertNear(99, figures["threshold,ttft.p99<50ms,missed"].Value);
        Assert.Equal("0", figures["threshold,gaps==0,met"].Value);
    }

    private static void AssertNear(double expected, string actual)
    {
        double value = double.Parse(actual, CultureInfo.InvariantCulture);
        Assert.InRange(value, expected * (1 - Histogram.RelativeError), expected * (1 + Histogram.RelativeError));
    }

    [Fact]
    public void Json_CarriesTheHeaderEveryStatisticTheVerdictsAndTheTimeline()
    {
        using var doc = JsonDocument.Parse(ReportWriters.Json(Report()));
        var root = doc.RootElement;
        Assert.Equal("ttft", root.GetProperty("header").GetProperty("scenario").GetString());
        Assert.Equal("embedded", root.GetProperty("header").GetProperty("mode").GetString());
        Assert.Equal(1, root.GetProperty("header").GetProperty("nodes").GetInt32());
        Assert.Equal(Environment.ProcessorCount, root.GetProperty("header").GetProperty("cores").GetInt32());
        Assert.False(root.GetProperty("passed").GetBoolean());
        var ttft = root.GetProperty("latencyMs").GetProperty("ttft");
        Assert.Equal(101, ttft.GetProperty("count").GetInt64());
        foreach (string stat in new[] { "min", "mean", "stddev", "p50", "p75", "p90", "p95", "p99", "p99.9", "max" })
        {
            Assert.True(ttft.TryGetProperty(stat, out _), stat);
        }
        Assert.Equal(0, root.GetProperty("counters").GetProperty("duplicates").GetInt64());
        Assert.Equal(2, root.GetProperty("steps").GetProperty("stream").GetProperty("failures").GetProperty("timeout").GetInt64());
        Assert.Equal(2, root.GetProperty("thresholds").GetArrayLength());
        Assert.Equal(2, root.GetProperty("timeline").GetProperty("ttft").GetArrayLength());
        Assert.Equal(2, root.GetProperty("processSamples").GetArrayLength());
    }

    [Fact]
    public void Markdown_HasTheRunHeader_StatusLatencyAndThresholdTables()
    {
        string md = ReportWriters.Markdown(Report());
        Assert.Contains("# Load test: ttft", md, StringComparison.Ordinal);
        Assert.Contains($"| machine | {Environment.MachineName}: {Environment.ProcessorCount} cores", md, StringComparison.Ordinal);
        Assert.Contains("| stream | 0 | 2 | timeout × 2 |", md, StringComparison.Ordinal);
        Assert.Contains("| metric | count | min | mean | p50 | p75 | p90 | p95 | p99 | p99.9 | max |", md, StringComparison.Ordinal);
        Assert.Contains("| ttft | 101 | 1 | ", md, StringComparison.Ordinal);
        Assert.Matches(@"\| `ttft\.p99<50ms` \| 99\.0\d \| \*\*missed\*\* \|", md);
        Assert.Contains("| `gaps==0` | 0 | met |", md, StringComparison.Ordinal);
    }

    [Fact]
    public void Svg_IsWellFormed_WithALineForEachPercentileOfEachTimelineAndTheMemory()
    {
        var svg = XDocument.Parse(Svg.Chart(Report()));
        XNamespace ns = "http://www.w3.org/2000/svg";
        var lines = svg.Descendants(ns + "polyline").ToList();
        Assert.Equal(5, lines.Count); // ttft p50/p99, delivery p50/p99, memory of one process
        Assert.All(lines, l => Assert.NotEmpty(l.Attribute("points")!.Value));
        Assert.Contains(svg.Descendants(ns + "text"), t => t.Value.StartsWith("delivery", StringComparison.Ordinal));
    }

    [Fact]
    public void WriteAll_PutsTheFourReportsInTheDirectory()
    {
        string dir = Path.Combine(Path.GetTempPath(), "loadtest-report-" + Guid.NewGuid().ToString("N"));
        try
        {
            var files = ReportWriters.WriteAll(Report(), dir);
            Assert.Equal(["report.md", "metrics.csv", "report.json", "chart.svg"], files.Select(Path.GetFileName));
            Assert.All(files, f => Assert.True(new FileInfo(f).Length > 100, f));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Numbers_AreWrittenTheSameWayWhateverTheCurrentCulture()
    {
        var previous = CultureInfo.CurrentCulture;
        try
        {
            CultureInfo.CurrentCulture = new CultureInfo("de-DE");
            Assert.Contains("latency,delivery,p99,9.903,ms", ReportWriters.Csv(Report()), StringComparison.Ordinal);
        }
        catch (CultureNotFoundException)
        {
            // InvariantGlobalization: only the invariant culture exists, so nothing can differ.
        }
        finally
        {
            CultureInfo.CurrentCulture = previous;
        }
    }
}
