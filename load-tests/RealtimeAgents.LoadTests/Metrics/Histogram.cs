using HdrHistogram;

namespace RealtimeAgents.LoadTests.Metrics;

/// <summary>
/// The harness's latency histogram (values in microseconds): HdrHistogram's
/// <see cref="LongHistogram"/> for the percentiles, plus the exact count, min, max, mean and
/// standard deviation the reports print. Percentiles are HdrHistogram's, clamped to the recorded
/// min and max, within <see cref="RelativeError"/> (3 significant digits) for a run's
/// histograms; the chart's one-second slots keep 2 digits (1 %), a tenth of the memory each.
/// Values above an hour are recorded as an hour. Not thread-safe; <see cref="Recorder"/> locks
/// around it.
/// </summary>
public sealed class Histogram(int significantDigits = 3)
{
    /// <summary>The largest value recorded as itself: an hour in microseconds.</summary>
    public const long HighestTrackable = 3_600_000_000;

    /// <summary>Largest relative error of a percentile of a run's histogram (3 significant digits).</summary>
    public static readonly double RelativeError = 0.001;

    private readonly LongHistogram _counts = new(HighestTrackable, significantDigits);
    private double _sumOfSquares;

    /// <summary>Values recorded.</summary>
    public long Count { get; private set; }
    /// <summary>Smallest value recorded (0 when empty).</summary>
    public long Min { get; private set; } = long.MaxValue;
    /// <summary>Largest value recorded (0 when empty).</summary>
    public long Max { get; private set; }
    /// <summary>Exact sum of the values.</summary>
    public double Sum { get; private set; }

    /// <summary>Exact mean (0 when empty).</summary>
    public double Mean => Count == 0 ? 0 : Sum / Count;

    /// <summary>Population standard deviation (0 when empty).</summary>
    public double StdDev => Count == 0 ? 0 : Math.Sqrt(Math.Max(0, _sumOfSquares / Count - Mean * Mean));

    /// <summary>Records one value; negative values are recorded as 0.</summary>
    public void Record(long value, long count = 1)
    {
        value = Math.Clamp(value, 0, HighestTrackable);
        _counts.RecordValueWithCount(value, count);
        Count += count;
        Sum += (double)value * count;
        _sumOfSquares += (double)value * value * count;
        if (value < Min) Min = value;
        if (value > Max) Max = value;
    }

    /// <summary>Adds every value of <paramref name="other"/>.</summary>
    public void Add(Histogram other)
    {
        ArgumentNullException.ThrowIfNull(other);
        if (other.Count == 0) return;
        _counts.Add(other._counts);
        Count += other.Count;
        Sum += other.Sum;
        _sumOfSquares += other._sumOfSquares;
        Min = Math.Min(Min, other.Min);
        Max = Math.Max(Max, other.Max);
    }

    /// <summary>The percentile (0 &lt; p ≤ 100), within <see cref="RelativeError"/>; 0 when empty.</summary>
    public long Percentile(double p)
    {
        if (p is <= 0 or > 100 || double.IsNaN(p)) throw new ArgumentOutOfRangeException(nameof(p), p, "A percentile is in (0, 100].");
        if (Count == 0) return 0;
        return Math.Clamp(_counts.GetValueAtPercentile(p), Min, Max);
    }

    /// <summary>A copy (for a snapshot taken under a lock).</summary>
    public Histogram Clone()
    {
        var h = new Histogram(_counts.NumberOfSignificantValueDigits);
        h.Add(this);
        return h;
    }
}
