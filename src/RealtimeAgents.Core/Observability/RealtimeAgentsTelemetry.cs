using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace RealtimeAgents.Core.Observability;

/// <summary>
/// The product's meters and activity sources: one of each per component (the hub, the worker).
/// Instrument names and units are a contract with dashboards and alerts: docs/operations.md lists
/// each one, and a rename is a breaking change. Recording is cheap when nobody listens (no
/// exporter configured), so the hot paths record unconditionally.
/// </summary>
public static class RealtimeAgentsTelemetry
{
    /// <summary>Meter and activity source of the hub: submits, subscriptions, delivery, refusals.</summary>
    public const string HubName = "RealtimeAgents.Hub";

    /// <summary>Meter and activity source of the worker: task runs, tool calls, TTFT.</summary>
    public const string WorkerName = "RealtimeAgents.Worker";

    internal static readonly ActivitySource HubSource = new(HubName);
    internal static readonly ActivitySource WorkerSource = new(WorkerName);
    private static readonly Meter s_hub = new(HubName);
    private static readonly Meter s_worker = new(WorkerName);

    // Latency buckets in seconds: 1 ms … 60 s, fine where tokens live (10–500 ms).
    private static readonly double[] s_latencyBuckets =
        [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

    // ---- hub ----
    internal static readonly Counter<long> TasksSubmitted = s_hub.CreateCounter<long>(
        "realtime_agents.tasks.submitted", "{task}", "Tasks created by SubmitTask / SendMessage, by agent.");
    internal static readonly Histogram<double> DeliveryLag = s_hub.CreateHistogram(
        "realtime_agents.delivery.lag", "s", "From an event's append (its ts) to its write to the subscriber's connection.",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = s_latencyBuckets });
    internal static readonly UpDownCounter<long> SubscriptionsActive = s_hub.CreateUpDownCounter<long>(
        "realtime_agents.subscriptions.active", "{subscription}", "Task subscriptions being pumped by this hub.");
    internal static readonly Counter<long> EventsDelivered = s_hub.CreateCounter<long>(
        "realtime_agents.events.delivered", "{event}", "Events written to subscribers.");
    internal static readonly Counter<long> RelayHeals = s_hub.CreateCounter<long>(
        "realtime_agents.relay.heals", "{heal}", "Reads of the log to repair a subscription, by cause (seq_jump, overflow, feed_lost, idle_check).");
    internal static readonly Histogram<long> ResumeReplayed = s_hub.CreateHistogram<long>(
        "realtime_agents.resume.replayed", "{event}", "Events replayed from the log when a subscription resumes from a cursor.");
    /// <summary>Slow clients disconnected.</summary>
    public static readonly Counter<long> SlowClientCutoffs = s_hub.CreateCounter<long>(
        "realtime_agents.slow_client.cutoffs", "{connection}", "Connections cut off because they stopped reading.");
    /// <summary>Refused requests, by reason (unauthenticated, forbidden).</summary>
    public static readonly Counter<long> AuthRefusals = s_hub.CreateCounter<long>(
        "realtime_agents.auth.refusals", "{request}", "Requests refused for their credentials, by reason.");
    /// <summary>Requests refused by a limit, by limit.</summary>
    public static readonly Counter<long> LimitTrips = s_hub.CreateCounter<long>(
        "realtime_agents.limit.trips", "{request}", "Requests refused by a quota, rate or size limit, by limit.");

    // ---- worker ----
    internal static readonly Histogram<double> TimeToFirstToken = s_worker.CreateHistogram(
        "realtime_agents.task.time_to_first_token", "s", "From the task's creation (submit) to its first text delta appended.",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = s_latencyBuckets });
    internal static readonly Histogram<double> TaskDuration = s_worker.CreateHistogram(
        "realtime_agents.task.duration", "s", "A task run from task.started to its terminal event, by agent and outcome.",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = s_latencyBuckets });
    internal static readonly Counter<long> TasksStarted = s_worker.CreateCounter<long>(
        "realtime_agents.tasks.started", "{task}", "Task attempts started, by agent.");
    internal static readonly Counter<long> TasksCompleted = s_worker.CreateCounter<long>(
        "realtime_agents.tasks.completed", "{task}", "Tasks ended with task.completed, by agent.");
    internal static readonly Counter<long> TasksFailed = s_worker.CreateCounter<long>(
        "realtime_agents.tasks.failed", "{task}", "Tasks ended with task.failed, by agent and code.");
    internal static readonly Counter<long> TasksCancelled = s_worker.CreateCounter<long>(
        "realtime_agents.tasks.cancelled", "{task}", "Tasks ended with task.cancelled, by agent.");
    internal static readonly Counter<long> TasksRetried = s_worker.CreateCounter<long>(
        "realtime_agents.tasks.retried", "{task}", "Attempts after the first: a lease was reclaimed from a lost worker or handed back.");
    internal static readonly Counter<long> TasksHandedBack = s_worker.CreateCounter<long>(
        "realtime_agents.tasks.handed_back", "{task}", "Running tasks handed back unfinished at shutdown.");
    internal static readonly UpDownCounter<long> TasksActive = s_worker.CreateUpDownCounter<long>(
        "realtime_agents.tasks.active", "{task}", "Tasks this worker is running.");

    // The queue as last read by this process's StoreHealthMonitor (null until then): gauges are
    // read synchronously at collection, so they report the cached answer, at most a second old.
    private static TaskQueueStats? s_queue;

    internal static void SetQueueStats(TaskQueueStats? stats) => s_queue = stats;

    private static readonly ObservableGauge<long> s_queueDepth = s_worker.CreateObservableGauge<long>("realtime_agents.queue.depth",
        () => s_queue is { } s ? [new Measurement<long>(s.Depth)] : Array.Empty<Measurement<long>>(),
        "{task}", "Tasks queued and not yet taken by a worker (the shared queue: every node reports it).");
    private static readonly ObservableGauge<double> s_queueOldest = s_worker.CreateObservableGauge<double>("realtime_agents.queue.oldest_age",
        () => s_queue is { } s ? [new Measurement<double>(s.OldestAge.TotalSeconds)] : Array.Empty<Measurement<double>>(),
        "s", "How long the oldest task waiting in the queue has waited.");

    /// <summary>
    /// Publishes 0 on the counters that may stay silent for days (refusals, cut-offs, failures),
    /// so dashboards and alerts see 0 rather than "no data". Called once the exporters listen.
    /// </summary>
    internal static void PublishZeros(bool hub, bool worker)
    {
        if (hub)
        {
            SlowClientCutoffs.Add(0);
            AuthRefusals.Add(0);
            LimitTrips.Add(0);
            RelayHeals.Add(0);
            EventsDelivered.Add(0);
            SubscriptionsActive.Add(0);
        }
        if (worker)
        {
            TasksFailed.Add(0);
            TasksCancelled.Add(0);
            TasksRetried.Add(0);
            TasksHandedBack.Add(0);
            TasksActive.Add(0);
        }
    }

    /// <summary>Counts a refusal of the hub by its error code (auth refusals and limit trips; others are not counted).</summary>
    public static void CountRefusal(string code)
    {
        switch (code)
        {
            case ErrorCodes.Unauthenticated: AuthRefusals.Add(1, new KeyValuePair<string, object?>("reason", "unauthenticated")); break;
            case ErrorCodes.PermissionDenied: AuthRefusals.Add(1, new KeyValuePair<string, object?>("reason", "forbidden")); break;
            case ErrorCodes.LimitExceeded: LimitTrips.Add(1, new KeyValuePair<string, object?>("limit", "rate_or_quota")); break;
        }
    }

    internal static KeyValuePair<string, object?> Agent(string agent) => new("agent", agent);
}

/// <summary>Reads what the task queue holds (for the queue gauges).</summary>
public interface ITaskQueueStats
{
    /// <summary>Tasks waiting for a worker and the age of the oldest.</summary>
    ValueTask<TaskQueueStats> GetStatsAsync(CancellationToken cancellationToken);
}

/// <summary>What the queue holds right now.</summary>
public readonly record struct TaskQueueStats(long Depth, TimeSpan OldestAge);
