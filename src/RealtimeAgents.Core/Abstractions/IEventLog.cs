namespace RealtimeAgents.Core;

/// <summary>
/// The per-task event stream: the source of truth every subscriber replays from.
/// </summary>
/// <remarks>
/// Guarantees every implementation must keep (the conformance suite checks them):
/// <list type="bullet">
/// <item>Append is atomic per task: it assigns the next <c>seq</c> (1, 2, 3, … with no holes), a
/// strictly increasing id, stores the event, and publishes it to live listeners, in one step, so
/// live listeners of one task see events in append order and never before they are readable.</item>
/// <item>Fencing: an append that carries an attempt number raises the stream's fence to it; an
/// append from an attempt below the fence fails with <see cref="StaleAttemptException"/> and
/// writes nothing. A worker that lost its task to a retry can therefore not write into the
/// retry's events. Appends with attempt 0 (the hub's own) are not fenced.</item>
/// <item>The stream has an epoch: the id of its first entry ever. A stream that expires and is
/// written again starts a new epoch, so a cursor from the old one is recognisably stale.</item>
/// <item>Retention: at most about <c>MaxLength</c> entries are kept (the oldest are trimmed and
/// <see cref="EventStreamInfo.MaxDeletedId"/> advances); after a terminal event the stream
/// expires after the configured TTL.</item>
/// <item>Sharing: every live listener of a task in one process receives the same
/// <see cref="EventRecord"/> instance for each event, so an encoding of it made for one subscriber
/// (<see cref="EventRecord.Encoded{T}"/>) serves them all. Records are never changed after they
/// are handed out.</item>
/// </list>
/// </remarks>
public interface IEventLog
{
    /// <summary>Appends one event and publishes it; returns it with its seq and id.</summary>
    /// <param name="taskId">The task.</param>
    /// <param name="threadId">Its thread.</param>
    /// <param name="kind">One of EventKinds.</param>
    /// <param name="data">The kind's payload as UTF-8 JSON (empty for none). The log may keep
    /// these bytes: the caller must not change them afterwards.</param>
    /// <param name="ts">Emit time, unix ms.</param>
    /// <param name="attempt">The writer's attempt for fencing; 0 for writers outside any attempt.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    ValueTask<EventRecord> AppendAsync(string taskId, string threadId, string kind, ReadOnlyMemory<byte> data, double ts,
        int attempt = 0, CancellationToken cancellationToken = default);

    /// <summary>Up to <paramref name="maxCount"/> events with ids strictly greater than <paramref name="after"/>, in order.</summary>
    ValueTask<IReadOnlyList<EventRecord>> ReadAsync(string taskId, StreamId after, int maxCount,
        CancellationToken cancellationToken = default);

    /// <summary>The stream's position and retention, or null when no stream exists (never written, or expired).</summary>
    ValueTask<EventStreamInfo?> GetInfoAsync(string taskId, CancellationToken cancellationToken = default);

    /// <summary>
    /// Starts delivering events appended to the task from now on to <paramref name="listener"/>,
    /// in order. Delivery is best effort: when the implementation may have dropped events (a
    /// reconnect), it calls <see cref="IEventListener.OnMissed"/> and the listener heals by reading.
    /// Works before the stream exists. Dispose to stop.
    /// </summary>
    ValueTask<IAsyncDisposable> SubscribeAsync(string taskId, IEventListener listener,
        CancellationToken cancellationToken = default);
}

/// <summary>An append came from an attempt older than the stream's fence: another worker owns the task now.</summary>
public sealed class StaleAttemptException(string taskId, int attempt, int fence)
    : Exception($"Task '{taskId}': attempt {attempt} may not write; attempt {fence} owns the stream.")
{
    /// <summary>The newest attempt.</summary>
    public int Fence { get; } = fence;
}

/// <summary>Receives a task's live events. Called on the publisher's path: must not block.</summary>
public interface IEventListener
{
    /// <summary>One live event (the same instance for every listener of the task in this process).</summary>
    void OnEvent(EventRecord record);

    /// <summary>Live events may have been lost; read the log to catch up.</summary>
    void OnMissed();
}

/// <summary>A snapshot of a task's stream.</summary>
/// <param name="Epoch">The id of the stream's first entry ever; changes when the stream is recreated.</param>
/// <param name="FirstId">The oldest retained entry.</param>
/// <param name="LastId">The newest entry.</param>
/// <param name="LastSeq">The seq of the newest entry.</param>
/// <param name="MaxDeletedId">The greatest id trimmed away (0-0 when nothing was).</param>
/// <param name="Length">Retained entries.</param>
/// <param name="Terminal">True once a terminal event was appended.</param>
public sealed record EventStreamInfo(StreamId Epoch, StreamId FirstId, StreamId LastId, long LastSeq,
    StreamId MaxDeletedId, long Length, bool Terminal);
