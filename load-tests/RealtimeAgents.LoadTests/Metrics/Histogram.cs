using System.Numerics;

namespace RealtimeAgents.LoadTests.Metrics;

/// <summary>
/// A log-linear histogram of non-negative integer values (the harness records microseconds),
/// in the manner of HdrHistogram, which cannot be installed here.
/// <para>
/// Layout: with <c>b</c> = <see cref="SubBucketBits"/> and <c>S = 2^b</c>, values below S have a
/// bucket each (exact). A larger value v with highest set bit m is shifted right by
/// <c>s = m - b + 1</c>, leaving b significant bits; its bucket holds the 2^s values that share
/// them. A bucket's lowest value is at least 2^m, so its width is at most 2^(1-b) of any value in
/// it, and the bucket's midpoint is within 2^-b (0.2% for b = 9) of every value it holds.
/// Percentiles are nearest-rank: the value at rank ceil(p/100 · n); the estimate is the midpoint
/// of the bucket holding that value, clamped to the recorded min and max, so it is within
/// <see cref="RelativeError"/> of the exact percentile.
/// </para>
/// Not thread-safe; <see cref="Recorder"/> locks around it.
/// </summary>
public sealed class Histogram
{
    /// <summary>Significant bits kept per value.</summary>
    public const int SubBucketBits = 9;
    private const long SubBucketCount = 1L << SubBucketBits;
    private const long HalfCount = SubBucketCount / 2;

    /// <summary>Largest relative error of a percentile (2^-b).</summary>
    public static readonly double RelativeError = 1.0 / SubBucketCount;

    private long[] _counts = new long[SubBucketCount];

    /// <summary>Values recorded.</summary>
    public long Count { get; private set; }
    /// <summary>Smallest value recorded (0 when empty).</summary>
    public long Min { get; private set; } = long.MaxValue;
    /// <summary>Largest value recorded (0 when empty).</summary>
    public long Max { get; private set; }
    /// <summary>Exact sum of the values.</summary>
    public double Sum { get; private set; }
    private double _sumOfSquares;

    /// <summary>Exact mean (0 when empty).</summary>
    public double Mean => Count == 0 ? 0 : Sum / Count;

    /// <summary>Population standard deviation (0 when empty).</summary>
    public double StdDev => Count == 0 ? 0 : Math.Sqrt(Math.Max(0, _sumOfSquares / Count - Mean * Mean));

    /// <summary>Records one value; negative values are recorded as 0.</summary>
    public void Record(long value, long count = 1)
    {
        if (value < 0) value = 0;
        int index = IndexOf(value);
        if (index >= _counts.Length) Array.Resize(ref _counts, Math.Max(index + 1, _counts.Length * 2));
        _counts[index] += count;
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
        if (other._counts.Length > _counts.Length) Array.Resize(ref _counts, other._counts.Length);
        for (int i = 0; i < other._counts.Length; i++) _counts[i] += other._counts[i];
        Count += other.Count;
        Sum += other.Sum;
        _sumOfSquares += other._sumOfSquares;
        Min = Math.Min(Min, other.Min);
        Max = Math.Max(Max, other.Max);
    }

    /// <summary>The nearest-rank percentile (0 &lt; p ≤ 100), within <see cref="RelativeError"/>; 0 when empty.</summary>
    public long Percentile(double p)
    {
        if (p is <= 0 or > 100 || double.IsNaN(p)) throw new ArgumentOutOfRangeException(nameof(p), p, "A percentile is in (0, 100].");
        if (Count == 0) return 0;
        long rank = Math.Max(1, (long)Math.Ceiling(p / 100.0 * Count));
        long seen = 0;
        for (int i = 0; i < _counts.Length; i++)
        {
            seen += _counts[i];
            if (seen >= rank) return Math.Clamp(Midpoint(i), Min, Max);
        }
        return Max;
    }

    /// <summary>A copy (for a snapshot taken under a lock).</summary>
    public Histogram Clone()
    {
        var h = new Histogram();
        h.Add(this);
        return h;
    }

    internal static int IndexOf(long value)
    {
        if (value < SubBucketCount) return (int)value;
        int msb = 63 - BitOperations.LeadingZeroCount((ulong)value);
        int shift = msb - SubBucketBits + 1;
        long top = value >> shift; // in [S/2, S)
        return (int)(SubBucketCount + (shift - 1) * HalfCount + (top - HalfCount));
    }

    internal static (long Low, long High) BucketRange(int index)
    {
        if (index < SubBucketCount) return (index, index);
        long k = index - SubBucketCount;
        int shift = (int)(k / HalfCount) + 1;
        long top = k % HalfCount + HalfCount;
        long low = top << shift;
        return (low, low + (1L << shift) - 1);
    }

    private static long Midpoint(int index)
    {
        var (low, high) = BucketRange(index);
        return low + (high - low) / 2;
    }
}
