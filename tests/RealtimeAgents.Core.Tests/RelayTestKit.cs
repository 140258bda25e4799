using System.Text.Json;
using System.Threading.Channels;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using RealtimeAgents.Contracts;
using RealtimeAgents.Core.InMemory;
using RealtimeAgents.Core.Relay;

namespace RealtimeAgents.Core.Tests;

/// <summary>Collects what a relay subscription delivers; can be made slow.</summary>
internal sealed class CollectingSink : IEventSink
{
    private readonly Channel<AgentEvent> _events = Channel.CreateUnbounded<AgentEvent>();
    public List<AgentEvent> Delivered { get; } = [];
    public List<SubscriptionEnded> Ended { get; } = [];
    public TimeSpan DelayPerEvent { get; set; }
    public TaskCompletionSource Gate { get; set; } = CompletedGate();

    public async ValueTask DeliverAsync(EventRecord record, CancellationToken cancellationToken)
    {
        var agentEvent = record.ToAgentEvent();
        await Gate.Task.WaitAsync(cancellationToken);
        if (DelayPerEvent > TimeSpan.Zero) await Task.Delay(DelayPerEvent, cancellationToken);
        lock (Delivered) Delivered.Add(agentEvent);
        _events.Writer.TryWrite(agentEvent);
    }

    public ValueTask EndAsync(SubscriptionEnded ended, CancellationToken cancellationToken)
    {
        lock (Ended) Ended.Add(ended);
        _events.Writer.TryComplete();
        return ValueTask.CompletedTask;
    }

    public List<AgentEvent> Snapshot() { lock (Delivered) return [.. Delivered]; }

    private static TaskCompletionSource CompletedGate()
    {
        var tcs = new TaskCompletionSource();
        tcs.SetResult();
        return tcs;
    }
}

/// <summary>
/// An event log whose live feed misbehaves on purpose: it drops and repeats live events by a
/// script, so the relay's healing is exercised. Storage is the in-memory log.
/// </summary>
internal sealed class UnreliableFeedLog(IEventLog inner, Func<EventRecord, int> copies) : IEventLog
{
    public ValueTask<EventRecord> AppendAsync(string taskId, string threadId, string kind, ReadOnlyMemory<byte> data, double ts, int attempt = 0, CancellationToken cancellationToken = default) =>
        inner.AppendAsync(taskId, threadId, kind, data, ts, attempt, cancellationToken);

    public ValueTask<IReadOnlyList<EventRecord>> ReadAsync(string taskId, StreamId after, int maxCount, CancellationToken cancellationToken = default) =>
        inner.ReadAsync(taskId, after, maxCount, cancellationToken);

    public ValueTask<EventStreamInfo?> GetInfoAsync(string taskId, CancellationToken cancellationToken = default) =>
        inner.GetInfoAsync(taskId, cancellationToken);

    public ValueTask<IAsyncDisposable> SubscribeAsync(string taskId, IEventListener listener, CancellationToken cancellationToken = default) =>
        inner.SubscribeAsync(taskId, new Filter(listener, copies), cancellationToken);

    private sealed class Filter(IEventListener target, Func<EventRecord, int> copies) : IEventListener
    {
        public void OnEvent(EventRecord record)
        {
            for (int i = copies(record); i > 0; i--) target.OnEvent(record);
        }

        public void OnMissed() => target.OnMissed();
    }
}

internal static class RelayKit
{
    public static InMemoryEventLog NewLog(int maxLength = 20_000, TimeSpan? ttl = null) =>
        new(Options.Create(new EventLogOptions { MaxLength = maxLength, TerminalTtl = ttl ?? TimeSpan.FromMinutes(10) }));

    public static EventRelay NewRelay(IEventLog log, int buffer = 512, int page = 500, int idleCheckMs = 100) =>
        new(log, Options.Create(new RelayOptions
        {
            LiveBufferCapacity = buffer,
            ReadPageSize = page,
            IdleCheckInterval = TimeSpan.FromMilliseconds(idleCheckMs),
        }), NullLogger<EventRelay>.Instance);

    // As a client sees it, to compare with what a sink collected.
    public static async ValueTask<AgentEvent> AppendAsync(IEventLog log, string taskId, int i, string kind = EventKinds.TextDelta) =>
        (await log.AppendAsync(taskId, "th", kind, JsonSerializer.SerializeToElement(new { messageId = "m", delta = $"{i} " }), i)).ToAgentEvent();

    public static string NewTaskId() => "t" + Guid.NewGuid().ToString("N");
}
