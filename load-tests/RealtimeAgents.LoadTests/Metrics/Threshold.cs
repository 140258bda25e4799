using System.Globalization;
using System.Text.RegularExpressions;

namespace RealtimeAgents.LoadTests.Metrics;

/// <summary>
/// A pass/fail condition on one figure of the report, written on the command line as
/// <c>METRIC[.STAT] OP VALUE[UNIT]</c>: <c>ttft.p99&lt;50ms</c>, <c>delivery.p99.9&lt;=0.1s</c>,
/// <c>gaps==0</c>, <c>backlog.events_per_s&gt;=100000</c>. STAT is one of min, mean, max, stddev,
/// count or pNN (p50, p99.9, …) of a latency metric; without it METRIC names a counter or a
/// gauge. Units: us, ms (the default for latencies), s; none for counters and gauges.
/// </summary>
public sealed partial record Threshold(string Text, string Metric, string? Stat, string Op, double Value)
{
    /// <summary>Parses one threshold; throws <see cref="FormatException"/> with the reason.</summary>
    public static Threshold Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var m = Shape().Match(text.Replace(" ", "", StringComparison.Ordinal));
        if (!m.Success)
        {
            throw new FormatException($"Threshold '{text}' is not METRIC[.STAT] OP VALUE[UNIT], e.g. ttft.p99<50ms or gaps==0.");
        }
        string left = m.Groups["left"].Value;
        string? stat = null;
        string metric = left;
        var s = StatSuffix().Match(left);
        if (s.Success)
        {
            metric = s.Groups["metric"].Value;
            stat = s.Groups["stat"].Value;
            if (stat.StartsWith('p'))
            {
                double p = double.Parse(stat.AsSpan(1), CultureInfo.InvariantCulture);
                if (p is <= 0 or > 100) throw new FormatException($"Threshold '{text}': a percentile is between 0 and 100.");
            }
        }
        double value = double.Parse(m.Groups["value"].Value, CultureInfo.InvariantCulture);
        string unit = m.Groups["unit"].Value;
        value *= unit switch
        {
            "" or "ms" => 1,
            "us" => 0.001,
            "s" => 1000,
            _ => throw new FormatException($"Threshold '{text}': unknown unit '{unit}' (us, ms or s)."),
        };
        if (stat is null && unit.Length > 0)
        {
            throw new FormatException($"Threshold '{text}': a unit needs a statistic such as .p99 (counters and gauges have none).");
        }
        return new Threshold(text, metric, stat, m.Groups["op"].Value, value);
    }

    /// <summary>The figure this threshold looks at, or null when the run has no such figure.</summary>
    public double? Actual(Snapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        if (Stat is null)
        {
            if (snapshot.Counters.TryGetValue(Metric, out long c)) return c;
            if (snapshot.Gauges.TryGetValue(Metric, out var g)) return g.Value;
            // A completeness counter nobody incremented is a zero, not a missing figure.
            return Metric is MetricNames.Gaps or MetricNames.Duplicates or MetricNames.Reorders or MetricNames.Incomplete ? 0 : null;
        }
        if (!snapshot.Histograms.TryGetValue(Metric, out var h) || h.Count == 0) return null;
        return Stat switch
        {
            "count" => h.Count,
            "min" => h.Min / 1000.0,
            "max" => h.Max / 1000.0,
            "mean" => h.Mean / 1000.0,
            "stddev" => h.StdDev / 1000.0,
            _ => h.Percentile(double.Parse(Stat.AsSpan(1), CultureInfo.InvariantCulture)) / 1000.0,
        };
    }

    /// <summary>True when <paramref name="actual"/> satisfies the condition.</summary>
    public bool IsMet(double actual) => Op switch
    {
        "<" => actual < Value,
        "<=" => actual <= Value,
        ">" => actual > Value,
        ">=" => actual >= Value,
        "==" => actual == Value,
        _ => throw new InvalidOperationException(Op),
    };

    /// <summary>Evaluates against a run: a missing figure fails (a typo must not pass silently).</summary>
    public ThresholdResult Evaluate(Snapshot snapshot)
    {
        double? actual = Actual(snapshot);
        return new ThresholdResult(this, actual, actual is double a && IsMet(a));
    }

    [GeneratedRegex(@"^(?<left>[a-z][a-z0-9_.]*?)(?<op><=|>=|==|<|>)(?<value>\d+(\.\d+)?)(?<unit>[a-z]*)$", RegexOptions.CultureInvariant)]
    private static partial Regex Shape();

    [GeneratedRegex(@"^(?<metric>[a-z][a-z0-9_.]*?)\.(?<stat>min|max|mean|stddev|count|p\d+(\.\d+)?)$", RegexOptions.CultureInvariant)]
    private static partial Regex StatSuffix();
}

/// <summary>A threshold and how the run fared.</summary>
public sealed record ThresholdResult(Threshold Threshold, double? Actual, bool Passed);
