using FsCheck;
using FsCheck.Fluent;
using RealtimeAgents.LoadTests.Metrics;
using Xunit;

namespace RealtimeAgents.LoadTests.Tests;

public class HistogramProperties
{
    private static readonly Config s_config = Config.QuickThrowOnFailure.WithMaxTest(300);
    private static readonly double[] s_percentiles = [0.1, 1, 25, 50, 75, 90, 95, 99, 99.9, 100];

    /// <summary>Values spread over many orders of magnitude (0 to about 2^31 µs, half an hour), as latencies are.</summary>
    private static readonly Gen<long> s_value =
        from mantissa in Gen.Choose(0, 1 << 20)
        from shift in Gen.Choose(0, 11)
        select (long)mantissa << shift;

    private static readonly Gen<long[]> s_values =
        from n in Gen.Choose(1, 2000)
        from values in Gen.ArrayOf(s_value, n)
        select values;

    [Fact]
    public void EveryPercentile_IsWithinTheStatedRelativeErrorOfTheNearestRankPercentile()
    {
        Check.One(s_config, Prop.ForAll(s_values.ToArbitrary(), values =>
        {
            var h = new Histogram();
            foreach (long v in values) h.Record(v);
            long[] sorted = [.. values.Order()];
            foreach (double p in s_percentiles)
            {
                // HdrHistogram rounds the rank (p·n + 0.5) where nearest-rank takes its ceiling: the
                // estimate lies between the values at those two ranks, give or take the error.
                long rank = Math.Max(1, (long)Math.Ceiling(p / 100.0 * sorted.Length));
                long low = sorted[Math.Max(0, rank - 2)], high = sorted[rank - 1];
                long estimate = h.Percentile(p);
                Assert.True(estimate >= low - low * Histogram.RelativeError && estimate <= high + high * Histogram.RelativeError,
                    $"p{p}: estimate {estimate}, nearest-rank values {low}..{high}, n {values.Length}");
            }
        }));
    }

    [Fact]
    public void CountMinMaxAndMean_AreExact()
    {
        Check.One(s_config, Prop.ForAll(s_values.ToArbitrary(), values =>
        {
            var h = new Histogram();
            foreach (long v in values) h.Record(v);
            Assert.Equal(values.Length, h.Count);
            Assert.Equal(values.Min(), h.Min);
            Assert.Equal(values.Max(), h.Max);
            Assert.Equal(values.Select(v => (double)v).Average(), h.Mean, 6);
        }));
    }

    [Fact]
    public void AddingTwoHistograms_GivesTheHistogramOfAllTheirValues()
    {
        Check.One(s_config, Prop.ForAll(s_values.ToArbitrary(), s_values.ToArbitrary(), (a, b) =>
        {
            var ha = new Histogram();
            var hb = new Histogram();
            var all = new Histogram();
            foreach (long v in a) { ha.Record(v); all.Record(v); }
            foreach (long v in b) { hb.Record(v); all.Record(v); }
            ha.Add(hb);
            Assert.Equal(all.Count, ha.Count);
            Assert.Equal(all.Min, ha.Min);
            Assert.Equal(all.Max, ha.Max);
            foreach (double p in s_percentiles) Assert.Equal(all.Percentile(p), ha.Percentile(p));
        }));
    }

    [Fact]
    public void SmallValues_AreRecordedExactly()
    {
        var h = new Histogram();
        for (long v = 0; v < 512; v++) h.Record(v);
        Assert.Equal(255, h.Percentile(50));
        Assert.Equal(511, h.Percentile(100));
        Assert.Equal(0, h.Percentile(0.1));
    }

    [Fact]
    public void NegativeValues_AreRecordedAsZero_AndAnEmptyHistogramReportsZero()
    {
        var h = new Histogram();
        Assert.Equal(0, h.Percentile(99));
        h.Record(-5);
        Assert.Equal(0, h.Min);
        Assert.Equal(0, h.Percentile(50));
    }

    [Fact]
    public void APercentileOutsideZeroToHundred_IsRefused()
    {
        var h = new Histogram();
        Assert.Throws<ArgumentOutOfRangeException>(() => h.Percentile(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => h.Percentile(100.5));
    }
}
