using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RealtimeAgents.Contracts;
using RealtimeAgents.Core.Observability;

namespace RealtimeAgents.Core.Relay;

/// <summary>Receives a subscription's events, in order. Implemented by each transport.</summary>
public interface IEventSink
{
    /// <summary>Delivers one event. Awaiting it is the backpressure: a slow client slows only its own pump.</summary>
    ValueTask DeliverAsync(EventRecord record, CancellationToken cancellationToken);

    /// <summary>The subscription stopped before its terminal event; the client resumes from the cursor.</summary>
    ValueTask EndAsync(SubscriptionEnded ended, CancellationToken cancellationToken);
}

/// <summary>
/// Joins a task's history and its live feed for one subscriber: subscribe live first and
/// buffer; read the log after the cursor; merge by seq dropping duplicates; deliver; go live.
/// A live seq that jumps ahead, a full buffer or a lost live connection all heal the same way,
/// by reading the log from the last delivered id. (This is centrifuge's recovery.)
/// </summary>
public sealed partial class EventRelay(IEventLog log, IOptions<RelayOptions> options, ILogger<EventRelay> logger)
{
    private readonly RelayOptions _options = options.Value;

    /// <summary>
    /// Starts a subscription: validates the cursor against what the log retains, then pumps
    /// events to <paramref name="sink"/> in the background until the terminal event, disposal, or
    /// a failure of the sink.
    /// </summary>
    public async Task<RelaySubscription> SubscribeAsync(string taskId, Cursor cursor, IEventSink sink,
        CancellationToken cancellationToken = default)
    {
        var subscription = new RelaySubscription(this, taskId, sink, _options.LiveBufferCapacity);
        if (cursor.Kind == CursorKind.After)
        {
            // A resume: its own span, ended once the replay from the log is delivered.
            subscription.ResumeActivity = RealtimeAgentsTelemetry.HubSource.StartActivity("ResumeSubscription")
                ?.SetTag("realtime_agents.task_id", taskId);
        }
        subscription.LiveRegistration = await log.SubscribeAsync(taskId, subscription, cancellationToken).ConfigureAwait(false);
        try
        {
            var info = await log.GetInfoAsync(taskId, cancellationToken).ConfigureAwait(false);
            var (tracker, recovered) = Position(info, cursor);
            subscription.Start(tracker, recovered, info?.Epoch ?? StreamId.Zero);
            if (!recovered) subscription.LostReason = WhyLost(info, cursor);
            return subscription;
        }
        catch
        {
            subscription.ResumeActivity?.Dispose();
            await subscription.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// Where the subscriber stands, and whether the log still holds everything after its cursor.
    /// A cursor is covered when it belongs to this stream's epoch, nothing after it was trimmed,
    /// and it is not beyond the end. An uncovered cursor continues live from the end: honest,
    /// not a silently partial replay.
    /// </summary>
    internal static (SequenceTracker Tracker, bool Recovered) Position(EventStreamInfo? info, Cursor cursor)
    {
        var end = info is null ? new SequenceTracker(StreamId.Zero, 0) : new SequenceTracker(info.LastId, info.LastSeq);
        switch (cursor.Kind)
        {
            case CursorKind.Live:
                // "Live only" on a finished task: the only thing left to tell is that it finished,
                // so the subscriber gets the terminal event and its stream ends at once.
                return info is { Terminal: true, LastSeq: > 0 }
                    ? (new SequenceTracker(Before(info.LastId), info.LastSeq - 1), true)
                    : (end, true);
            case CursorKind.Start:
                // Complete from seq 1 only when nothing was trimmed and the epoch began with the
                // first retained entry (a log that lost appends starts a later epoch).
                return info is null || (info.MaxDeletedId == StreamId.Zero && info.Epoch <= info.FirstId)
                    ? (new SequenceTracker(StreamId.Zero, 0), true)
                    : (end, false);
            default:
                var after = cursor.After;
                bool covered = info is not null && after >= info.Epoch && after >= info.MaxDeletedId && after <= info.LastId;
                if (!covered) return (end, false);
                return (after == info!.LastId ? end : new SequenceTracker(after, null), true);
        }
    }

    /// <summary>The largest id strictly before <paramref name="id"/>: reading after it yields <paramref name="id"/>.</summary>
    private static StreamId Before(StreamId id) => id.N > 0 ? new StreamId(id.Ms, id.N - 1) : new StreamId(id.Ms - 1, long.MaxValue);

    /// <summary>Why a cursor is not covered, in the words a client should see.</summary>
    internal static string WhyLost(EventStreamInfo? info, Cursor cursor)
    {
        if (info is null) return "The task has no events retained (they expired or were never written). Start again from the task's current state.";
        if (cursor.Kind == CursorKind.After && cursor.After > info.LastId)
            return $"The cursor {cursor.After} is beyond the end of this task's events (the last is {info.LastId}): it does not belong to this task or to this incarnation of its stream.";
        if (cursor.Kind == CursorKind.After && cursor.After < info.Epoch)
            return "The cursor belongs to an earlier incarnation of this task's stream (it was recreated). Start again from the task's current state.";
        return "The events after the requested cursor are no longer retained (trimmed or expired). Start again from the task's current state.";
    }

    private async Task PumpAsync(RelaySubscription sub, CancellationToken ct)
    {
        var reader = sub.Buffer.Reader;
        try
        {
            bool open = await HealAsync(sub, ct).ConfigureAwait(false);
            if (sub.ResumeActivity is { } resume)
            {
                long replayed = Interlocked.Read(ref sub.DeliveredCount);
                resume.SetTag("realtime_agents.events_replayed", replayed);
                RealtimeAgentsTelemetry.ResumeReplayed.Record(replayed);
                resume.Dispose();
            }
            if (!open) return;
            while (true)
            {
                if (!await reader.WaitToReadAsync(ct).ConfigureAwait(false)) return;
                if (Interlocked.Exchange(ref sub.Missed, 0) == 1)
                {
                    RealtimeAgentsTelemetry.RelayHeals.Add(1, new KeyValuePair<string, object?>("cause", sub.MissedCause));
                    while (reader.TryRead(out _)) { }
                    if (!await HealAsync(sub, ct).ConfigureAwait(false)) return;
                    continue;
                }
                while (Volatile.Read(ref sub.Missed) == 0 && reader.TryRead(out var ev))
                {
                    if (ev is null) continue; // a wake-up from OnMissed
                    switch (sub.Tracker.Classify(ev))
                    {
                        case SequenceTracker.Verdict.Duplicate:
                            continue;
                        case SequenceTracker.Verdict.Next:
                            if (!await DeliverAsync(sub, ev, ct).ConfigureAwait(false)) return;
                            break;
                        default:
                            LogGap(logger, sub.TaskId, sub.Tracker.LastSeq, ev.Seq);
                            RealtimeAgentsTelemetry.RelayHeals.Add(1, new KeyValuePair<string, object?>("cause", "seq_jump"));
                            if (!await HealAsync(sub, ct).ConfigureAwait(false)) return;
                            break;
                    }
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            LogPumpFailed(logger, ex, sub.TaskId);
            await sub.TryEndAsync("error").ConfigureAwait(false);
        }
        finally
        {
            RealtimeAgentsTelemetry.SubscriptionsActive.Add(-1);
            sub.StopIdleTimer();
            await sub.LiveRegistrationDisposeAsync().ConfigureAwait(false);
        }
    }

    // Reads the log from the last delivered id to its end. Returns false when the subscription is over.
    private async Task<bool> HealAsync(RelaySubscription sub, CancellationToken ct)
    {
        while (true)
        {
            var page = await log.ReadAsync(sub.TaskId, sub.Tracker.LastId, _options.ReadPageSize, ct).ConfigureAwait(false);
            foreach (var ev in page)
            {
                switch (sub.Tracker.ClassifyFromLog(ev))
                {
                    case SequenceTracker.Verdict.Duplicate:
                        continue;
                    case SequenceTracker.Verdict.Gap:
                        // Trimmed before this reader got there: say so rather than skip ahead.
                        LogTrimmed(logger, sub.TaskId, sub.Tracker.LastSeq, ev.Seq);
                        await sub.TryEndAsync("trimmed").ConfigureAwait(false);
                        return false;
                }
                if (!await DeliverAsync(sub, ev, ct).ConfigureAwait(false)) return false;
            }
            if (page.Count < _options.ReadPageSize) return true;
        }
    }

    private static async Task<bool> DeliverAsync(RelaySubscription sub, EventRecord ev, CancellationToken ct)
    {
        await sub.Sink.DeliverAsync(ev, ct).ConfigureAwait(false);
        // Append (the worker's clock) to written on this subscriber's connection (ours).
        RealtimeAgentsTelemetry.DeliveryLag.Record(Math.Max(0, (Clock.UnixMs() - ev.Ts) / 1000.0));
        RealtimeAgentsTelemetry.EventsDelivered.Add(1);
        sub.Tracker.Advance(ev);
        Interlocked.Increment(ref sub.DeliveredCount);
        if (!ev.IsTerminal) return true;
        sub.CompletedWithTerminal = true;
        return false;
    }

    [LoggerMessage(EventId = 1, EventName = "RelayGap", Level = LogLevel.Debug,
        Message = "Task {TaskId}: live event seq {Seq} after {LastSeq}; reading the log to fill the gap.")]
    private static partial void LogGap(ILogger logger, string taskId, long? lastSeq, long seq);

    [LoggerMessage(EventId = 2, EventName = "RelayTrimmed", Level = LogLevel.Warning,
        Message = "Task {TaskId}: events after seq {LastSeq} were trimmed before delivery (next retained {Seq}); ending the subscription.")]
    private static partial void LogTrimmed(ILogger logger, string taskId, long? lastSeq, long seq);

    [LoggerMessage(EventId = 3, EventName = "RelayPumpFailed", Level = LogLevel.Warning,
        Message = "Task {TaskId}: subscription failed and was ended.")]
    private static partial void LogPumpFailed(ILogger logger, Exception exception, string taskId);

    internal void StartPump(RelaySubscription sub)
    {
        RealtimeAgentsTelemetry.SubscriptionsActive.Add(1);
        sub.StartIdleTimer(_options.IdleCheckInterval);
        sub.Completion = PumpAsync(sub, sub.Stopping.Token);
    }
}

/// <summary>One subscriber's view of one task: its start position and its running pump.</summary>
public sealed class RelaySubscription : IEventListener, IAsyncDisposable
{
    private readonly EventRelay _relay;
    internal readonly Channel<EventRecord?> Buffer;
    internal readonly CancellationTokenSource Stopping = new();
    internal IAsyncDisposable? LiveRegistration;
    internal SequenceTracker Tracker = null!;
    internal int Missed;
    internal long DeliveredCount;
    internal System.Diagnostics.Activity? ResumeActivity;
    // Why the pump must read the log (for the heals metric): overflow, feed_lost or idle_check.
    internal string MissedCause = "feed_lost";
    private Timer? _idleTimer;
    private long _deliveredAtLastTick;
    private int _ended;

    internal RelaySubscription(EventRelay relay, string taskId, IEventSink sink, int capacity)
    {
        _relay = relay;
        TaskId = taskId;
        Sink = sink;
        Buffer = Channel.CreateBounded<EventRecord?>(new BoundedChannelOptions(capacity)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait, // TryWrite fails when full: we then heal from the log
            // A pump waiting for the next live event resumes on the thread that hands it over (the
            // log's live feed), delivers it and parks again: no thread-pool hop per subscriber per
            // event. A delivery that cannot complete at once (a full connection buffer) still
            // awaits, and the feed moves on to the next subscriber.
            AllowSynchronousContinuations = true,
        });
    }

    /// <summary>The task.</summary>
    public string TaskId { get; }
    internal IEventSink Sink { get; }
    /// <summary>False when the cursor was older than what the log retains.</summary>
    public bool Recovered { get; private set; }
    /// <summary>When not <see cref="Recovered"/>: why, in words for the client.</summary>
    public string? LostReason { get; internal set; }
    /// <summary>Delivered events come strictly after this id.</summary>
    public string Cursor { get; private set; } = Contracts.Cursors.Start;
    /// <summary>The stream incarnation.</summary>
    public string Epoch { get; private set; } = Contracts.Cursors.Start;
    /// <summary>Ends when the terminal event was delivered, the subscription was disposed or failed.</summary>
    public Task Completion { get; internal set; } = Task.CompletedTask;
    /// <summary>True once the terminal event was delivered (for tests).</summary>
    internal bool CompletedWithTerminal { get; set; }

    internal void Start(SequenceTracker tracker, bool recovered, StreamId epoch)
    {
        Tracker = tracker;
        Recovered = recovered;
        Cursor = tracker.LastId.ToString();
        Epoch = epoch.ToString();
        _relay.StartPump(this);
    }

    void IEventListener.OnEvent(EventRecord record)
    {
        if (!Buffer.Writer.TryWrite(record))
        {
            MissedCause = "overflow";
            Volatile.Write(ref Missed, 1);
        }
    }

    // One timer for the subscription's life (not one per wait on the hot path): a tick that finds
    // nothing delivered since the previous one makes the pump read the log, as after a lost feed.
    internal void StartIdleTimer(TimeSpan interval)
    {
        if (interval > TimeSpan.Zero) _idleTimer = new Timer(static s => ((RelaySubscription)s!).OnIdleTick(), this, interval, interval);
    }

    internal void StopIdleTimer() => Interlocked.Exchange(ref _idleTimer, null)?.Dispose();

    private void OnIdleTick()
    {
        long delivered = Interlocked.Read(ref DeliveredCount);
        if (delivered == Interlocked.Exchange(ref _deliveredAtLastTick, delivered)) MarkMissed("idle_check");
    }

    void IEventListener.OnMissed() => MarkMissed("feed_lost");

    private void MarkMissed(string cause)
    {
        MissedCause = cause;
        Volatile.Write(ref Missed, 1);
        Buffer.Writer.TryWrite(null);
    }

    internal async ValueTask TryEndAsync(string reason)
    {
        if (Interlocked.Exchange(ref _ended, 1) != 0) return;
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await Sink.EndAsync(new SubscriptionEnded(TaskId, reason, Tracker.LastId.ToString()), timeout.Token).ConfigureAwait(false);
        }
        catch (Exception)
        {
            // The client is gone or stuck; it resumes from its own cursor.
        }
    }

    internal async ValueTask LiveRegistrationDisposeAsync()
    {
        var registration = Interlocked.Exchange(ref LiveRegistration, null);
        if (registration is not null) await registration.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>Stops the pump and the live feed.</summary>
    public async ValueTask DisposeAsync()
    {
        StopIdleTimer();
        if (!Stopping.IsCancellationRequested) await Stopping.CancelAsync().ConfigureAwait(false);
        try { await Completion.ConfigureAwait(false); } catch (OperationCanceledException) { }
        await LiveRegistrationDisposeAsync().ConfigureAwait(false);
        Stopping.Dispose();
    }
}
