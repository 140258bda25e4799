using System.Collections.Concurrent;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Protocol;
using Microsoft.AspNetCore.SignalR.StackExchangeRedis;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace RealtimeAgents.Server.Hubs;

/// <summary>
/// This node's connections of a hub, for the two things SignalR's hub context does not do: write a
/// message serialized once to many connections (task events, see <see cref="EventFrames.For"/>),
/// and end a connection with a close message that allows reconnecting, which is how shutdown tells
/// clients to resume elsewhere (<see cref="HubShutdown"/>).
/// </summary>
public sealed class LocalConnections<THub> where THub : Hub
{
    private readonly ConcurrentDictionary<string, HubConnectionContext> _connections = new(StringComparer.Ordinal);

    /// <summary>A connection of this node, or null.</summary>
    public HubConnectionContext? Find(string connectionId) => _connections.GetValueOrDefault(connectionId);

    /// <summary>The connections now (a snapshot).</summary>
    public IReadOnlyCollection<HubConnectionContext> Snapshot => [.. _connections.Values];

    internal void Add(HubConnectionContext connection) => _connections[connection.ConnectionId] = connection;

    internal void Remove(HubConnectionContext connection) => _connections.TryRemove(connection.ConnectionId, out _);
}

/// <summary>
/// The node's lifetime manager (SignalR's in-memory one or the official Redis backplane) with its
/// connections recorded in <see cref="LocalConnections{THub}"/>; everything else is passed through.
/// </summary>
public abstract class LocalConnectionsHubLifetimeManager<THub>(HubLifetimeManager<THub> inner, LocalConnections<THub> local)
    : HubLifetimeManager<THub> where THub : Hub
{
    /// <inheritdoc />
    public override Task OnConnectedAsync(HubConnectionContext connection)
    {
        ArgumentNullException.ThrowIfNull(connection);
        local.Add(connection);
        return inner.OnConnectedAsync(connection);
    }

    /// <inheritdoc />
    public override Task OnDisconnectedAsync(HubConnectionContext connection)
    {
        ArgumentNullException.ThrowIfNull(connection);
        local.Remove(connection);
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

/// <summary>Embedded mode: SignalR's in-memory manager.</summary>
public sealed class LocalDefaultHubLifetimeManager<THub>(DefaultHubLifetimeManager<THub> inner, LocalConnections<THub> local)
    : LocalConnectionsHubLifetimeManager<THub>(inner, local) where THub : Hub;

/// <summary>
/// Redis mode: the official Redis backplane, owned here rather than by the container. Its Dispose
/// unsubscribes synchronously and throws when Redis does not answer, and a throwing singleton
/// aborts the host's disposal: a node stopping while Redis hung or failed over crashed with
/// SIGABRT instead of exiting. Here that exception is logged; the subscriptions end with the
/// connection anyway.
/// </summary>
public sealed partial class LocalRedisHubLifetimeManager<THub> : LocalConnectionsHubLifetimeManager<THub>, IDisposable where THub : Hub
{
    private readonly RedisHubLifetimeManager<THub> _backplane;
    private readonly ILogger _logger;

    /// <summary>Creates the backplane from the container's registrations (its options, protocols and logger).</summary>
    public LocalRedisHubLifetimeManager(IServiceProvider services, LocalConnections<THub> local, ILogger<LocalRedisHubLifetimeManager<THub>> logger)
        : this(ActivatorUtilities.CreateInstance<RedisHubLifetimeManager<THub>>(services), local, logger)
    {
    }

    private LocalRedisHubLifetimeManager(RedisHubLifetimeManager<THub> backplane, LocalConnections<THub> local, ILogger logger)
        : base(backplane, local)
    {
        _backplane = backplane;
        _logger = logger;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        try
        {
            _backplane.Dispose();
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            LogUnsubscribeFailed(_logger, ex);
        }
    }

    [LoggerMessage(EventId = 33, EventName = "BackplaneUnsubscribeFailed", Level = LogLevel.Warning,
        Message = "The SignalR backplane could not unsubscribe while stopping (Redis did not answer); its subscriptions end with the connection.")]
    private static partial void LogUnsubscribeFailed(ILogger logger, Exception exception);
}
