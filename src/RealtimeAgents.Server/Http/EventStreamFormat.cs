using System.Text.Json;
using RealtimeAgents.Contracts;
using RealtimeAgents.Core;
using RealtimeAgents.Core.Relay;

namespace RealtimeAgents.Server.Http;

/// <summary>
/// GET /tasks/{id}/events: our own events as Server-Sent Events.
/// <code>
/// event: stream.open                 first; data: SubscribeResult {taskId,status,recovered,cursor,epoch}
///
/// id: &lt;event id&gt;                     then each AgentEvent, in seq order, each once
/// event: &lt;kind&gt;
/// data: &lt;AgentEvent JSON&gt;
///
/// event: stream.unrecoverable        instead of everything above when the cursor's events are gone;
/// data: {taskId,cursor,reason}       the response then ends (close the EventSource; nothing to resume)
///
/// event: stream.ended                the server ended the stream early (e.g. its events were trimmed
/// data: {taskId,reason,cursor}       while this reader lagged); reconnect with Last-Event-ID = cursor
/// </code>
/// The response ends after the terminal event. None of the control frames carries an id, so an
/// EventSource's Last-Event-ID stays the id of the last event it received.
/// </summary>
internal sealed class EventStreamFormat : IStreamFormat
{
    public const string Open = "stream.open";
    public const string Unrecoverable = "stream.unrecoverable";
    public const string Ended = "stream.ended";

    // Every live reader of a task on this node gets the same record (IEventLog's sharing
    // guarantee): a thousand readers share one frame, made around the event's own JSON bytes.
    private static readonly object SseFrame = new();

    private readonly string _status;

    public EventStreamFormat(string status) => _status = status;

    public async ValueTask<bool> OpenAsync(SseWriter writer, RelaySubscription subscription, CancellationToken ct)
    {
        if (!subscription.Recovered)
        {
            var gone = new StreamUnrecoverable(subscription.TaskId, subscription.Cursor,
                subscription.LostReason ?? "The events after the requested cursor are no longer retained (trimmed or expired). Start again from the task's current state.");
            await writer.WriteFrameAsync(SseWriter.Frame(null, Unrecoverable,
                JsonSerializer.SerializeToUtf8Bytes(gone, HttpJsonContext.Readable.StreamUnrecoverable)), ct).ConfigureAwait(false);
            return false;
        }
        var opened = new SubscribeResult(subscription.TaskId, _status, true, subscription.Cursor, subscription.Epoch);
        await writer.WriteFrameAsync(SseWriter.Frame(null, Open,
            JsonSerializer.SerializeToUtf8Bytes(opened, ContractsJsonContext.Default.SubscribeResult)), ct).ConfigureAwait(false);
        return true;
    }

    public ValueTask DeliverAsync(SseWriter writer, EventRecord record, CancellationToken ct) =>
        writer.WriteFrameAsync(record.Encoded(SseFrame, static e => SseWriter.Frame(e.IdText, e.Kind, e.Json.Span)), ct);

    public ValueTask EndAsync(SseWriter writer, SubscriptionEnded ended, CancellationToken ct) =>
        writer.WriteFrameAsync(SseWriter.Frame(null, Ended,
            JsonSerializer.SerializeToUtf8Bytes(ended, ContractsJsonContext.Default.SubscriptionEnded)), ct);
}
