using System.Runtime.CompilerServices;
using System.Collections.Concurrent;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Protocol;
using RealtimeAgents.Contracts;
using Microsoft.AspNetCore.SignalR.StackExchangeRedis;

namespace RealtimeAgents.Server.Hubs;

/// <summary>
/// The node's lifetime manager (in-memory or the official Redis backplane) with one addition: it knows
/// this node's connections, so task events can be written to them directly as messages
/// serialized once for every local subscriber (see <see cref="EventMessages"/>). Everything
/// else is passed through unchanged.
/// </summary>
public abstract class LocalConnectionsHubLifetimeManager<THub>(HubLifetimeManager<THub> inner) : HubLifetimeManager<THub>
    where THub : Hub
{
    private readonly ConcurrentDictionary<string, HubConnectionContext> _local = new(StringComparer.Ordinal);

    /// <summary>A connection on this node, or null.</summary>
    public HubConnectionContext? Local(string connectionId) => _local.GetValueOrDefault(connectionId);

    /// <summary>This node's connections now (a snapshot).</summary>
    public IReadOnlyCollection<HubConnectionContext> LocalConnections => [.. _local.Values];

    /// <inheritdoc />
    public override Task OnConnectedAsync(HubConnectionContext connection)
    {
        ArgumentNullException.ThrowIfNull(connection);
        _local[connection.ConnectionId] = connection;
        return inner.OnConnectedAsync(connection);
    }

    /// <inheritdoc />
    public override Task OnDisconnectedAsync(HubConnectionContext connection)
    {
        ArgumentNullException.ThrowIfNull(connection);
        _local.TryRemove(connection.ConnectionId, out _);
        return inner.OnDisconnectedAsync(connection);
    }

    /// <inheritdoc />
    public override Task SendAllAsync(string methodName, object?[] args, CancellationToken cancellationToken = default) =>
        inner.SendAllAsync(methodName, args, cancellationToken);
    /// <inheritdoc />
    public override Task SendAllExceptAsync(string methodName, object?[] args, IReadOnlyList<string> excludedConnectionIds, CancellationToken cancellationToken = default) =>
        inner.SendAllExceptAsync(methodName, args, excludedConnectionIds, cancellationToken);
    /// <inheritdoc />
    public override Task SendConnectionAsync(string connectionId, string methodName, object?[] args, CancellationToken cancellationToken = default) =>
        inner.SendConnectionAsync(connectionId, methodName, args, cancellationToken);
    /// <inheritdoc />
    public override Task SendConnectionsAsync(IReadOnlyList<string> connectionIds, string methodName, object?[] args, CancellationToken cancellationToken = default) =>
        inner.SendConnectionsAsync(connectionIds, methodName, args, cancellationToken);
    /// <inheritdoc />
    public override Task SendGroupAsync(string groupName, string methodName, object?[] args, CancellationToken cancellationToken = default) =>
        inner.SendGroupAsync(groupName, methodName, args, cancellationToken);
    /// <inheritdoc />
    public override Task SendGroupsAsync(IReadOnlyList<string> groupNames, string methodName, object?[] args, CancellationToken cancellationToken = default) =>
        inner.SendGroupsAsync(groupNames, methodName, args, cancellationToken);
    /// <inheritdoc />
    public override Task SendGroupExceptAsync(string groupName, string methodName, object?[] args, IReadOnlyList<string> excludedConnectionIds, CancellationToken cancellationToken = default) =>
        inner.SendGroupExceptAsync(groupName, methodName, args, excludedConnectionIds, cancellationToken);
    /// <inheritdoc />
    public override Task SendUserAsync(string userId, string methodName, object?[] args, CancellationToken cancellationToken = default) =>
        inner.SendUserAsync(userId, methodName, args, cancellationToken);
    /// <inheritdoc />
    public override Task SendUsersAsync(IReadOnlyList<string> userIds, string methodName, object?[] args, CancellationToken cancellationToken = default) =>
        inner.SendUsersAsync(userIds, methodName, args, cancellationToken);
    /// <inheritdoc />
    public override Task AddToGroupAsync(string connectionId, string groupName, CancellationToken cancellationToken = default) =>
        inner.AddToGroupAsync(connectionId, groupName, cancellationToken);
    /// <inheritdoc />
    public override Task RemoveFromGroupAsync(string connectionId, string groupName, CancellationToken cancellationToken = default) =>
        inner.RemoveFromGroupAsync(connectionId, groupName, cancellationToken);
    /// <inheritdoc />
    public override Task<T> InvokeConnectionAsync<T>(string connectionId, string methodName, object?[] args, CancellationToken cancellationToken) =>
        inner.InvokeConnectionAsync<T>(connectionId, methodName, args, cancellationToken);
    /// <inheritdoc />
    public override Task SetConnectionResultAsync(string connectionId, CompletionMessage result) =>
        inner.SetConnectionResultAsync(connectionId, result);
    /// <inheritdoc />
    public override bool TryGetReturnType(string invocationId, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out Type? type) =>
        inner.TryGetReturnType(invocationId, out type);
}

/// <summary>Embedded mode: SignalR's in-memory manager, with local connections known.</summary>
public sealed class LocalDefaultHubLifetimeManager<THub>(DefaultHubLifetimeManager<THub> inner)
    : LocalConnectionsHubLifetimeManager<THub>(inner) where THub : Hub;

/// <summary>Redis mode: the official Redis backplane, with local connections known.</summary>
public sealed class LocalRedisHubLifetimeManager<THub>(RedisHubLifetimeManager<THub> inner)
    : LocalConnectionsHubLifetimeManager<THub>(inner) where THub : Hub;

/// <summary>
/// The "event" message of each AgentEvent, serialized at most once per hub protocol however many
/// local subscribers it goes to. Live events reach every subscriber of a task on this node as the
/// same instance (the log's live feed parses each once), so a weak cache keyed by the instance
/// is all it takes; the entry goes when the event does.
/// </summary>
internal static class EventMessages
{
    private static readonly ConditionalWeakTable<AgentEvent, SerializedHubMessage> Cache = [];

    public static SerializedHubMessage For(AgentEvent agentEvent) =>
        Cache.GetValue(agentEvent, static e => new SerializedHubMessage(new InvocationMessage(HubMethods.Event, [e])));
}
