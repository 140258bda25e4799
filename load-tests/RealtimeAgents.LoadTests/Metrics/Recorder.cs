using System.Collections.Concurrent;
using System.Diagnostics;

namespace RealtimeAgents.LoadTests.Metrics;

/// <summary>
/// Everything a run measures, safe to record from many threads: latency histograms (recorded in
/// microseconds, reported in milliseconds), counters, the ok/fail status of each step with its
/// failure reasons, gauges, and per-interval histograms of a few metrics for the chart.
/// </summary>
public sealed class Recorder
{
    private readonly ConcurrentDictionary<string, Histogram> _histograms = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, long> _counters = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, StepStatus> _steps = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, (double Value, string Unit)> _gauges = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, List<Histogram>> _timelines = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<Sample> _samples = new();
    private long _originTicks = Stopwatch.GetTimestamp();

    /// <summary>Width of one timeline interval.</summary>
    public TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Metrics that also get a timeline (the chart shows them).</summary>
    public static readonly string[] TimelineMetrics = [MetricNames.Ttft, MetricNames.Delivery];

    /// <summary>Starts the timeline's clock (the end of warm-up).</summary>
    public void StartClock() => _originTicks = Stopwatch.GetTimestamp();

    /// <summary>Records a latency in milliseconds.</summary>
    public void Record(string metric, double ms)
    {
        long us = (long)Math.Round(ms * 1000);
        var h = _histograms.GetOrAdd(metric, static _ => new Histogram());
        lock (h) h.Record(us);
        if (Array.IndexOf(TimelineMetrics, metric) < 0) return;
        int slot = (int)(Stopwatch.GetElapsedTime(_originTicks) / Interval);
        if (slot < 0) return;
        var line = _timelines.GetOrAdd(metric, static _ => []);
        lock (line)
        {
            while (line.Count <= slot) line.Add(new Histogram(significantDigits: 2));
            line[slot].Record(us);
        }
    }

    /// <summary>Adds to a counter.</summary>
    public void Count(string counter, long by = 1) => _counters.AddOrUpdate(counter, by, (_, v) => v + by);

    /// <summary>Sets a gauge.</summary>
    public void Gauge(string name, double value, string unit) => _gauges[name] = (value, unit);

    /// <summary>Marks a step as done.</summary>
    public void Ok(string step) => _steps.GetOrAdd(step, static _ => new StepStatus()).Ok();

    /// <summary>Marks a step as failed with a short reason.</summary>
    public void Fail(string step, string reason) => _steps.GetOrAdd(step, static _ => new StepStatus()).Fail(reason);

    /// <summary>Adds a process sample (soak).</summary>
    public void AddSample(Sample sample) => _samples.Enqueue(sample);

    /// <summary>A consistent copy of everything.</summary>
    public Snapshot Snapshot()
    {
        var histograms = _histograms.ToDictionary(kv => kv.Key, kv => { lock (kv.Value) return kv.Value.Clone(); }, StringComparer.Ordinal);
        var timelines = _timelines.ToDictionary(kv => kv.Key, kv =>
        {
            lock (kv.Value) return (IReadOnlyList<Histogram>)kv.Value.Select(h => h.Clone()).ToList();
        }, StringComparer.Ordinal);
        return new Snapshot(
            histograms,
            new SortedDictionary<string, long>(_counters, StringComparer.Ordinal),
            _steps.ToDictionary(kv => kv.Key, kv => kv.Value.Copy(), StringComparer.Ordinal),
            new SortedDictionary<string, (double, string)>(_gauges, StringComparer.Ordinal),
            timelines,
            Interval,
            [.. _samples]);
    }
}

/// <summary>Ok/fail counts of one step and why it failed.</summary>
public sealed class StepStatus
{
    private readonly object _gate = new();

    /// <summary>Successes.</summary>
    public long OkCount { get; private set; }
    /// <summary>Failures.</summary>
    public long FailCount { get; private set; }
    /// <summary>Failures by reason.</summary>
    public SortedDictionary<string, long> Reasons { get; } = new(StringComparer.Ordinal);

    internal void Ok()
    {
        lock (_gate) OkCount++;
    }

    internal void Fail(string reason)
    {
        lock (_gate)
        {
            FailCount++;
            Reasons[reason] = Reasons.GetValueOrDefault(reason) + 1;
        }
    }

    internal StepStatus Copy()
    {
        lock (_gate)
        {
            var copy = new StepStatus { OkCount = OkCount, FailCount = FailCount };
            foreach (var (k, v) in Reasons) copy.Reasons[k] = v;
            return copy;
        }
    }
}

/// <summary>One reading of a process from /proc, <paramref name="Seconds"/> after sampling began (warm-up included).</summary>
public sealed record Sample(double Seconds, int Pid, double RssMb, int Threads, int OpenFiles, double CpuSeconds);

/// <summary>What a run measured, ready for the reports.</summary>
public sealed record Snapshot(
    IReadOnlyDictionary<string, Histogram> Histograms,
    IReadOnlyDictionary<string, long> Counters,
    IReadOnlyDictionary<string, StepStatus> Steps,
    IReadOnlyDictionary<string, (double Value, string Unit)> Gauges,
    IReadOnlyDictionary<string, IReadOnlyList<Histogram>> Timelines,
    TimeSpan Interval,
    IReadOnlyList<Sample> Samples);

/// <summary>Stable metric and counter names: reports, CSV columns and thresholds use them.</summary>
public static class MetricNames
{
    /// <summary>Opening a HubConnection (ms).</summary>
    public const string Connect = "connect";
    /// <summary>SubmitTask sent to its result (ms).</summary>
    public const string Submit = "submit";
    /// <summary>Subscribe sent to its result (ms).</summary>
    public const string Subscribe = "subscribe";
    /// <summary>Time to first token: submit sent (open model: scheduled) to the first text.delta received (ms).</summary>
    public const string Ttft = "ttft";
    /// <summary>TTFT minus the agent's own time before its first token (first text.delta ts − task.started ts): what the hub adds (ms).</summary>
    public const string TtftOverhead = "ttft.overhead";
    /// <summary>Gap between consecutive text.delta events at the client (ms).</summary>
    public const string InterToken = "itl";
    /// <summary>Client wall clock at receipt minus the event's ts, for events emitted after the subscription was requested (ms).</summary>
    public const string Delivery = "delivery";
    /// <summary>Submit sent (open model: scheduled) to the terminal event received (ms).</summary>
    public const string EndToEnd = "e2e";
    /// <summary>Connection dropped to reconnected (ms).</summary>
    public const string Reconnect = "reconnect";
    /// <summary>Connection dropped to the replay complete: the first event emitted after the reconnect, or the terminal event (ms).</summary>
    public const string Resume = "resume";
    /// <summary>Interrupt sent to task.cancelled received (ms).</summary>
    public const string Interrupt = "interrupt";
    /// <summary>A fresh subscription from the start of a finished task to its terminal event (ms).</summary>
    public const string BacklogReplay = "backlog.replay";

    /// <summary>Counters of completeness; each must stay 0.</summary>
    public const string Gaps = "gaps";
    /// <summary>Events received twice.</summary>
    public const string Duplicates = "duplicates";
    /// <summary>Events received after one with a higher seq.</summary>
    public const string Reorders = "reorders";
    /// <summary>Tasks without a terminal event within the task timeout.</summary>
    public const string Incomplete = "incomplete";
    /// <summary>Events received for measured tasks.</summary>
    public const string Events = "events";
    /// <summary>Events received by every user, warm-up included (the denominator of CPU per delivery).</summary>
    public const string Deliveries = "deliveries";
    /// <summary>Tasks that ended (measured ones).</summary>
    public const string Tasks = "tasks";
}
