using RealtimeAgents.LoadTests.Metrics;
using Xunit;

namespace RealtimeAgents.LoadTests.Tests;

public class ThresholdTests
{
    [Theory]
    [InlineData("ttft.p99<50ms", "ttft", "p99", "<", 50)]
    [InlineData("ttft.overhead.p99.9<=0.1s", "ttft.overhead", "p99.9", "<=", 100)]
    [InlineData("delivery.p50 < 500us", "delivery", "p50", "<", 0.5)]
    [InlineData("e2e.max>=2", "e2e", "max", ">=", 2)]
    [InlineData("submit.count>10", "submit", "count", ">", 10)]
    [InlineData("gaps==0", "gaps", null, "==", 0)]
    [InlineData("backlog.events_per_s>=100000", "backlog.events_per_s", null, ">=", 100_000)]
    public void AThreshold_IsReadAsMetricStatisticOperatorAndValueInMilliseconds(string text, string metric, string? stat, string op, double value)
    {
        var t = Threshold.Parse(text);
        Assert.Equal(metric, t.Metric);
        Assert.Equal(stat, t.Stat);
        Assert.Equal(op, t.Op);
        Assert.Equal(value, t.Value, 9);
        Assert.Equal(text, t.Text);
    }

    [Theory]
    [InlineData("ttft.p99")]
    [InlineData("ttft.p99<")]
    [InlineData("ttft.p99<fast")]
    [InlineData("ttft.p99<50min")]
    [InlineData("ttft.p101<5ms")]
    [InlineData("ttft.p0<5ms")]
    [InlineData("gaps==0ms")]
    [InlineData("TTFT.p99<5ms")]
    [InlineData("ttft.p99=5ms")]
    public void AMalformedThreshold_IsRefusedWithAFormatException(string text)
    {
        var ex = Assert.Throws<FormatException>(() => Threshold.Parse(text));
        Assert.Contains(text.Replace(" ", "", StringComparison.Ordinal), ex.Message, StringComparison.Ordinal);
    }

    private static Snapshot RunWith(params double[] ttftMs)
    {
        var rec = new Recorder();
        foreach (double ms in ttftMs) rec.Record(MetricNames.Ttft, ms);
        rec.Count(MetricNames.Duplicates, 2);
        rec.Gauge("backlog.events_per_s", 150_000, "events/s");
        return rec.Snapshot();
    }

    [Fact]
    public void APercentileThreshold_IsMetOrMissedOnTheRecordedLatencies()
    {
        var run = RunWith([.. Enumerable.Range(1, 100).Select(i => (double)i)]);
        var met = Threshold.Parse("ttft.p99<100ms").Evaluate(run);
        Assert.True(met.Passed);
        Assert.InRange(met.Actual!.Value, 99 * (1 - Histogram.RelativeError), 99 * (1 + Histogram.RelativeError));
        var missed = Threshold.Parse("ttft.p50<=10ms").Evaluate(run);
        Assert.False(missed.Passed);
        Assert.InRange(missed.Actual!.Value, 50 * (1 - Histogram.RelativeError), 50 * (1 + Histogram.RelativeError));
    }

    [Fact]
    public void CountersAndGauges_AreComparedWithoutUnits()
    {
        var run = RunWith(5);
        Assert.False(Threshold.Parse("duplicates==0").Evaluate(run).Passed);
        Assert.True(Threshold.Parse("backlog.events_per_s>=100000").Evaluate(run).Passed);
    }

    [Fact]
    public void ACompletenessCounterNeverIncremented_CountsAsZero()
    {
        var result = Threshold.Parse("gaps==0").Evaluate(RunWith(5));
        Assert.True(result.Passed);
        Assert.Equal(0, result.Actual);
    }

    [Fact]
    public void AThresholdOnAFigureTheRunDoesNotHave_Fails()
    {
        var result = Threshold.Parse("interrupt.p99<50ms").Evaluate(RunWith(5));
        Assert.False(result.Passed);
        Assert.Null(result.Actual);
        Assert.False(Threshold.Parse("typo_counter==0").Evaluate(RunWith(5)).Passed);
    }
}
