using System.Collections.Concurrent;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Protocol;
using Microsoft.Extensions.Options;
using RealtimeAgents.Contracts;
using RealtimeAgents.Core;
using RealtimeAgents.Core.Relay;

namespace RealtimeAgents.Server.Hubs;

/// <summary>
/// The relay subscriptions of each connection on this node, so Unsubscribe, a repeated Subscribe
/// and a disconnect stop exactly the pumps they should.
/// </summary>
public sealed class SubscriptionRegistry(LocalConnections<AgentHub> local, IOptions<HubEndpointOptions> options, ILogger<AgentHub> logger)
{
    // The caller's connection is on this node (it is invoking a hub method here) until it closes.
    internal IEventSink SinkFor(HubCallerContext caller) => new HubEventSink(
        local.Find(caller.ConnectionId) ?? throw new HubException("The connection is closing."),
        caller, options.Value.SlowClientTimeout, logger);

    private readonly ConcurrentDictionary<string, ConcurrentDictionary<string, RelaySubscription>> _byConnection =
        new(StringComparer.Ordinal);


    /// <summary>Subscriptions the connection holds on this node.</summary>
    public int CountOf(string connectionId) => _byConnection.TryGetValue(connectionId, out var subs) ? subs.Count : 0;

    /// <summary>Whether the connection holds a subscription to the task (a new Subscribe would replace it).</summary>
    public bool Holds(string connectionId, string taskId) =>
        _byConnection.TryGetValue(connectionId, out var subs) && subs.ContainsKey(taskId);

    /// <summary>Adds a subscription, replacing the connection's earlier one for the same task.</summary>
    public async ValueTask AddAsync(string connectionId, RelaySubscription subscription)
    {
        var subs = _byConnection.GetOrAdd(connectionId, static _ => new(StringComparer.Ordinal));
        RelaySubscription? replaced = null;
        subs.AddOrUpdate(subscription.TaskId, subscription, (_, old) => { replaced = old; return subscription; });
        if (replaced is not null) await replaced.DisposeAsync().ConfigureAwait(false);
        // Forget it once it ends on its own (terminal event delivered, or failed).
        _ = subscription.Completion.ContinueWith(_ =>
        {
            subs.TryRemove(new KeyValuePair<string, RelaySubscription>(subscription.TaskId, subscription));
        }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    /// <summary>Stops the connection's subscription to the task.</summary>
    public async ValueTask RemoveAsync(string connectionId, string taskId)
    {
        if (_byConnection.TryGetValue(connectionId, out var subs) && subs.TryRemove(taskId, out var sub))
        {
            await sub.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Stops everything of a connection that went away.</summary>
    public async ValueTask RemoveConnectionAsync(string connectionId)
    {
        if (!_byConnection.TryRemove(connectionId, out var subs)) return;
        foreach (var sub in subs.Values) await sub.DisposeAsync().ConfigureAwait(false);
    }
}

/// <summary>
/// Delivers a subscription's events to one SignalR connection. A send completes when the
/// connection's outgoing buffer (bounded in bytes, <see cref="HubEndpointOptions.MaxBufferedBytes"/>)
/// has room, so a client that stops reading stalls only its own pumps. One stalled past
/// <see cref="HubEndpointOptions.SlowClientTimeout"/> is disconnected: its SDK reconnects and
/// resumes every subscription from its cursor.
/// </summary>
internal sealed partial class HubEventSink(HubConnectionContext connection, HubCallerContext caller,
    TimeSpan stallLimit, ILogger logger) : IEventSink
{
    public async ValueTask DeliverAsync(EventRecord record, CancellationToken cancellationToken)
    {
        // The event's frame that every local subscriber shares (JSON: the record's own bytes;
        // MessagePack: its image), written to the connection directly.
        var write = connection.WriteAsync(EventFrames.For(record), cancellationToken);
        if (write.IsCompletedSuccessfully) return; // the usual case: room in the buffer, nothing allocated
        var send = write.AsTask();
        if (send.IsCompleted)
        {
            await send.ConfigureAwait(false);
            return;
        }
        try
        {
            await send.WaitAsync(stallLimit, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            LogSlowClient(logger, caller.ConnectionId, record.TaskId, stallLimit);
            Core.Observability.RealtimeAgentsTelemetry.SlowClientCutoffs.Add(1);
            caller.Abort();
            throw new OperationCanceledException($"connection {caller.ConnectionId} stopped reading");
        }
    }

    [LoggerMessage(EventId = 30, EventName = "SlowClientDisconnected", Level = LogLevel.Information,
        Message = "Connection {ConnectionId} did not read for {Stall} while task {TaskId} streamed; disconnected so it resumes from its cursor.")]
    private static partial void LogSlowClient(ILogger logger, string connectionId, string taskId, TimeSpan stall);

    public ValueTask EndAsync(SubscriptionEnded ended, CancellationToken cancellationToken) =>
        connection.WriteAsync(new InvocationMessage(HubMethods.SubscriptionEnded, [ended]), cancellationToken);
}
