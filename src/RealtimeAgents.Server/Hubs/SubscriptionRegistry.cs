using System.Collections.Concurrent;
using Microsoft.AspNetCore.SignalR;
using RealtimeAgents.Contracts;
using RealtimeAgents.Core.Relay;

namespace RealtimeAgents.Server.Hubs;

/// <summary>
/// The relay subscriptions of each connection on this node, so Unsubscribe, a repeated Subscribe
/// and a disconnect stop exactly the pumps they should.
/// </summary>
public sealed class SubscriptionRegistry(IHubContext<AgentHub> hubContext)
{
    private readonly ConcurrentDictionary<string, ConcurrentDictionary<string, RelaySubscription>> _byConnection =
        new(StringComparer.Ordinal);

    internal IHubContext<AgentHub> HubContext => hubContext;

    /// <summary>Subscriptions alive on this node.</summary>
    public int Count => _byConnection.Values.Sum(d => d.Count);

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

/// <summary>Delivers a subscription's events to one SignalR connection.</summary>
internal sealed class HubEventSink(IHubContext<AgentHub> hub, string connectionId) : IEventSink
{
    public ValueTask DeliverAsync(AgentEvent agentEvent, CancellationToken cancellationToken) =>
        new(hub.Clients.Client(connectionId).SendAsync(HubMethods.Event, agentEvent, cancellationToken));

    public ValueTask EndAsync(SubscriptionEnded ended, CancellationToken cancellationToken) =>
        new(hub.Clients.Client(connectionId).SendAsync(HubMethods.SubscriptionEnded, ended, cancellationToken));
}
