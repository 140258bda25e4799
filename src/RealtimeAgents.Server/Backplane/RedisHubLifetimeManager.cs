using System.Buffers;
using System.Collections.Concurrent;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Protocol;
using Microsoft.Extensions.Options;
using RealtimeAgents.Redis;

namespace RealtimeAgents.Server.Backplane;

/// <summary>
/// A SignalR <see cref="HubLifetimeManager{THub}"/> that spans hub nodes through Redis pub/sub, on our own
/// <see cref="RedisClient"/>. Register it with <c>AddSignalR().AddRedisBackplane(...)</c>.
/// </summary>
/// <remarks>
/// <para>Routing: every node subscribes to the all channel, the group-management channel and its own ack
/// channel; to one channel per local connection; and to one channel per group and per user while it has a
/// local member. A send writes to this node's own matching connections directly and publishes once for the
/// others; receivers skip the messages they published themselves. A message is serialized once per hub
/// protocol, by the sender, never per connection.</para>
/// <para>Ordering: everything this node sends to a connection of its own is written directly, in call
/// order, whatever the route (all, group, user, connection). Messages from another node arrive in publish
/// order per channel; messages of one node to one connection through two different channels (say a group
/// and the connection itself) are not ordered with respect to each other.</para>
/// <para>Pub/sub is at most once: while the subscriber connection is down messages are lost (logged as
/// <c>MessagesMayHaveBeenLost</c>); our task streams heal from the event log, not from the backplane.</para>
/// </remarks>
public sealed class RedisHubLifetimeManager<THub> : HubLifetimeManager<THub>, IAsyncDisposable, IDisposable where THub : Hub
{
    [ThreadStatic]
    private static ArrayBufferWriter<byte>? t_buffer;

    private readonly ConcurrentDictionary<string, LocalConnection> _connections = new(StringComparer.Ordinal);
    private readonly RedisBackplaneSubscriptions _groups = new();
    private readonly RedisBackplaneSubscriptions _users = new();
    private readonly ConcurrentDictionary<int, TaskCompletionSource> _acks = new();
    private readonly RedisBackplaneOptions _options;
    private readonly IServiceProvider? _services;
    private readonly ILoggerFactory _loggerFactory;
    private readonly ILogger _logger;
    private readonly RedisBackplaneChannels _channels;
    private readonly IReadOnlyList<IHubProtocol> _protocols;
    private readonly string _serverName = Environment.MachineName + "-" + Guid.NewGuid().ToString("N")[..12];
    private readonly Lock _startLock = new();
    private readonly List<IAsyncDisposable> _nodeSubscriptions = [];

    private Task? _started;
    private Task? _backlog;
    private RedisClient? _client;
    private bool _ownsClient;
    private int _lastAckId;
    private int _disposed;

    /// <summary>Created by dependency injection (see <see cref="RedisBackplaneExtensions.AddRedisBackplane(ISignalRServerBuilder, Action{RedisBackplaneOptions})"/>).</summary>
    public RedisHubLifetimeManager(IOptions<RedisBackplaneOptions> options, IHubProtocolResolver protocolResolver,
        IOptions<HubOptions> globalHubOptions, IOptions<HubOptions<THub>> hubOptions, ILoggerFactory loggerFactory,
        IServiceProvider services)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(protocolResolver);
        ArgumentNullException.ThrowIfNull(globalHubOptions);
        ArgumentNullException.ThrowIfNull(hubOptions);
        _options = options.Value;
        _services = services;
        _loggerFactory = loggerFactory ?? throw new ArgumentNullException(nameof(loggerFactory));
        _logger = loggerFactory.CreateLogger<RedisHubLifetimeManager<THub>>();
        _channels = new RedisBackplaneChannels(_options.ChannelPrefix, typeof(THub).FullName ?? typeof(THub).Name);

        // Serialize for the protocols this hub can actually speak, and no others.
        IList<string>? supported = hubOptions.Value.SupportedProtocols ?? globalHubOptions.Value.SupportedProtocols;
        _protocols = supported is { Count: > 0 }
            ? [.. protocolResolver.AllProtocols.Where(p => supported.Contains(p.Name, StringComparer.OrdinalIgnoreCase))]
            : protocolResolver.AllProtocols;

        // Connect and subscribe now rather than on the first connection, so the first clients do not wait
        // for it. A failure is logged, and the next call tries again.
        _ = EnsureStartedAsync();
    }

    /// <summary>The client in use once the backplane has started (tests hook its subscriber's events).</summary>
    public RedisClient? Client => _client;

    // ---- connections --------------------------------------------------------------------------------

    /// <inheritdoc />
    public override async Task OnConnectedAsync(HubConnectionContext connection)
    {
        ArgumentNullException.ThrowIfNull(connection);
        await EnsureStartedAsync().ConfigureAwait(false);
        var local = new LocalConnection(connection);
        _connections[connection.ConnectionId] = local;
        try
        {
            string channel = _channels.Connection(connection.ConnectionId);
            local.Subscription = await SubscribeAsync(channel, (ch, payload) => OnInvocationAsync(ch, payload, [connection])).ConfigureAwait(false);
            if (!string.IsNullOrEmpty(connection.UserIdentifier))
            {
                await _users.AddAsync(_channels.User(connection.UserIdentifier), connection, SubscribeUserAsync).ConfigureAwait(false);
            }
        }
        catch
        {
            await OnDisconnectedAsync(connection).ConfigureAwait(false);
            throw;
        }
    }

    /// <inheritdoc />
    public override async Task OnDisconnectedAsync(HubConnectionContext connection)
    {
        ArgumentNullException.ThrowIfNull(connection);
        if (Volatile.Read(ref _disposed) != 0 || !_connections.TryRemove(connection.ConnectionId, out LocalConnection? local))
        {
            return;
        }

        if (local.Subscription is { } subscription)
        {
            await UnsubscribeAsync(_channels.Connection(connection.ConnectionId), subscription).ConfigureAwait(false);
        }

        foreach (string group in local.TakeGroups())
        {
            await _groups.RemoveAsync(_channels.Group(group), connection, UnsubscribeAsync).ConfigureAwait(false);
        }

        if (!string.IsNullOrEmpty(connection.UserIdentifier))
        {
            await _users.RemoveAsync(_channels.User(connection.UserIdentifier), connection, UnsubscribeAsync).ConfigureAwait(false);
        }
    }

    // ---- sends --------------------------------------------------------------------------------------

    /// <inheritdoc />
    public override Task SendAllAsync(string methodName, object?[] args, CancellationToken cancellationToken = default) =>
        SendAllExceptAsync(methodName, args, [], cancellationToken);

    /// <inheritdoc />
    public override Task SendAllExceptAsync(string methodName, object?[] args, IReadOnlyList<string> excludedConnectionIds,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(excludedConnectionIds);
        var message = Invocation(methodName, args);
        return SendAsync([_channels.All], excludedConnectionIds, message, _connections.Values.Select(c => c.Connection), cancellationToken);
    }

    /// <inheritdoc />
    public override Task SendConnectionAsync(string connectionId, string methodName, object?[] args, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(connectionId);

        // A connection lives on one node for its whole life, so the route to it never changes: local ones are
        // always written directly (in call order), remote ones always go through their one channel (in
        // publish order).
        if (_connections.TryGetValue(connectionId, out LocalConnection? local))
        {
            return local.Connection.WriteAsync(Invocation(methodName, args), cancellationToken).AsTask();
        }

        return SendAsync([_channels.Connection(connectionId)], null, Invocation(methodName, args), [], cancellationToken);
    }

    /// <inheritdoc />
    public override Task SendConnectionsAsync(IReadOnlyList<string> connectionIds, string methodName, object?[] args,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(connectionIds);
        var localTargets = new List<HubConnectionContext>();
        var channels = new List<string>();
        foreach (string id in connectionIds.Distinct(StringComparer.Ordinal))
        {
            if (_connections.TryGetValue(id, out LocalConnection? local))
            {
                localTargets.Add(local.Connection);
            }
            else
            {
                channels.Add(_channels.Connection(id));
            }
        }

        return SendAsync(channels, null, Invocation(methodName, args), localTargets, cancellationToken);
    }

    /// <inheritdoc />
    public override Task SendGroupAsync(string groupName, string methodName, object?[] args, CancellationToken cancellationToken = default) =>
        SendGroupExceptAsync(groupName, methodName, args, [], cancellationToken);

    /// <inheritdoc />
    public override Task SendGroupExceptAsync(string groupName, string methodName, object?[] args, IReadOnlyList<string> excludedConnectionIds,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(groupName);
        ArgumentNullException.ThrowIfNull(excludedConnectionIds);
        string channel = _channels.Group(groupName);
        return SendAsync([channel], excludedConnectionIds, Invocation(methodName, args),
            _groups.Members(channel), cancellationToken);
    }

    /// <inheritdoc />
    public override Task SendGroupsAsync(IReadOnlyList<string> groupNames, string methodName, object?[] args,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(groupNames);
        return SendToSetsAsync(groupNames, _channels.Group, _groups, methodName, args, cancellationToken);
    }

    /// <inheritdoc />
    public override Task SendUserAsync(string userId, string methodName, object?[] args, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(userId);
        return SendToSetsAsync([userId], _channels.User, _users, methodName, args, cancellationToken);
    }

    /// <inheritdoc />
    public override Task SendUsersAsync(IReadOnlyList<string> userIds, string methodName, object?[] args,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(userIds);
        return SendToSetsAsync(userIds, _channels.User, _users, methodName, args, cancellationToken);
    }

    /// <summary>
    /// Groups or users: one publish per name. A connection in two of the groups gets the message twice,
    /// locally as remotely (one per group channel), as with SignalR's in-memory manager.
    /// </summary>
    private Task SendToSetsAsync(IReadOnlyList<string> names, Func<string, string> channelOf, RedisBackplaneSubscriptions sets,
        string methodName, object?[] args, CancellationToken cancellationToken)
    {
        var channels = new List<string>(names.Count);
        var localTargets = new List<HubConnectionContext>();
        foreach (string name in names.Distinct(StringComparer.Ordinal))
        {
            if (string.IsNullOrEmpty(name))
            {
                continue;
            }

            string channel = channelOf(name);
            channels.Add(channel);
            localTargets.AddRange(sets.Members(channel));
        }

        return SendAsync(channels, null, Invocation(methodName, args), localTargets, cancellationToken);
    }

    /// <summary>
    /// Publishes to every channel, then writes to the local targets. The publishes are issued before the first
    /// await, so their order on the wire is the order of the calls that made them; until the backplane has
    /// started, sends queue up behind each other to keep that order.
    /// </summary>
    private Task SendAsync(IReadOnlyList<string> channels, IReadOnlyList<string>? excluded, SerializedHubMessage message,
        IEnumerable<HubConnectionContext> localTargets, CancellationToken cancellationToken)
    {
        Task started = EnsureStartedAsync();
        if (!started.IsCompletedSuccessfully || Volatile.Read(ref _backlog) is { IsCompleted: false })
        {
            lock (_startLock)
            {
                return _backlog = SendInOrderAsync(_backlog ?? Task.CompletedTask, started, channels, excluded, message, localTargets, cancellationToken);
            }
        }

        return SendNow(channels, excluded, message, localTargets, cancellationToken);
    }

    private async Task SendInOrderAsync(Task previous, Task started, IReadOnlyList<string> channels, IReadOnlyList<string>? excluded,
        SerializedHubMessage message, IEnumerable<HubConnectionContext> localTargets, CancellationToken cancellationToken)
    {
        await previous.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        await started.WaitAsync(cancellationToken).ConfigureAwait(false);
        await SendNow(channels, excluded, message, localTargets, cancellationToken).ConfigureAwait(false);
    }

    private Task SendNow(IReadOnlyList<string> channels, IReadOnlyList<string>? excluded, SerializedHubMessage message,
        IEnumerable<HubConnectionContext> localTargets, CancellationToken cancellationToken)
    {
        List<Task>? pending = null;
        if (channels.Count > 0)
        {
            byte[] payload = Serialize(static (buffer, state) =>
                RedisBackplaneProtocol.WriteInvocation(buffer, state.Origin, state.Excluded, state.Message, state.Protocols),
                (Origin: _serverName, Excluded: excluded, Message: message, Protocols: _protocols));
            foreach (string channel in channels)
            {
                RedisBackplaneLog.Publishing(_logger, channel);
                ValueTask<long> publish = _client!.PublishAsync(channel, payload, cancellationToken);
                if (!publish.IsCompletedSuccessfully)
                {
                    (pending ??= []).Add(publish.AsTask());
                }
            }
        }

        WriteLocal(localTargets, excluded, message, ref pending, cancellationToken);
        return pending is null ? Task.CompletedTask : Task.WhenAll(pending);
    }

    private static void WriteLocal(IEnumerable<HubConnectionContext> targets, IReadOnlyList<string>? excluded, SerializedHubMessage message,
        ref List<Task>? pending, CancellationToken cancellationToken)
    {
        foreach (HubConnectionContext connection in targets)
        {
            if (excluded is { Count: > 0 } && excluded.Contains(connection.ConnectionId, StringComparer.Ordinal))
            {
                continue;
            }

            ValueTask write = connection.WriteAsync(message, cancellationToken);
            if (!write.IsCompletedSuccessfully)
            {
                (pending ??= []).Add(write.AsTask());
            }
        }
    }

    private static SerializedHubMessage Invocation(string methodName, object?[] args)
    {
        ArgumentNullException.ThrowIfNull(methodName);
        return new SerializedHubMessage(new InvocationMessage(methodName, args));
    }

    /// <summary>Writes into a per-thread scratch buffer and copies out exactly the bytes written.</summary>
    private static byte[] Serialize<TState>(Action<ArrayBufferWriter<byte>, TState> write, TState state)
    {
        ArrayBufferWriter<byte> buffer = t_buffer ?? new ArrayBufferWriter<byte>(512);
        t_buffer = null;
        buffer.ResetWrittenCount();
        try
        {
            write(buffer, state);
            return buffer.WrittenSpan.ToArray();
        }
        finally
        {
            // The copy above means the scratch can be reused at once (the client may keep our array while
            // it waits for a reconnect); a huge one is let go so one big message does not pin memory.
            if (buffer.Capacity <= 64 * 1024)
            {
                t_buffer = buffer;
            }
        }
    }

    // ---- groups -------------------------------------------------------------------------------------

    /// <inheritdoc />
    public override Task AddToGroupAsync(string connectionId, string groupName, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(connectionId);
        ArgumentNullException.ThrowIfNull(groupName);
        return _connections.TryGetValue(connectionId, out LocalConnection? local)
            ? AddLocalAsync(local, groupName)
            : SendGroupCommandAsync(RedisBackplaneGroupAction.Add, connectionId, groupName, cancellationToken);
    }

    /// <inheritdoc />
    public override Task RemoveFromGroupAsync(string connectionId, string groupName, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(connectionId);
        ArgumentNullException.ThrowIfNull(groupName);
        return _connections.TryGetValue(connectionId, out LocalConnection? local)
            ? RemoveLocalAsync(local, groupName)
            : SendGroupCommandAsync(RedisBackplaneGroupAction.Remove, connectionId, groupName, cancellationToken);
    }

    private async Task AddLocalAsync(LocalConnection local, string groupName)
    {
        await EnsureStartedAsync().ConfigureAwait(false);
        if (local.AddGroup(groupName))
        {
            try
            {
                await _groups.AddAsync(_channels.Group(groupName), local.Connection, SubscribeGroupAsync).ConfigureAwait(false);
            }
            catch
            {
                local.RemoveGroup(groupName);
                throw;
            }

            // The connection may have gone while we subscribed, after OnDisconnectedAsync took its groups:
            // leave no member behind that nothing would ever remove.
            if (!_connections.TryGetValue(local.Connection.ConnectionId, out LocalConnection? current) || current != local)
            {
                await RemoveLocalAsync(local, groupName).ConfigureAwait(false);
            }
        }
    }

    private Task RemoveLocalAsync(LocalConnection local, string groupName) =>
        local.RemoveGroup(groupName)
            ? _groups.RemoveAsync(_channels.Group(groupName), local.Connection, UnsubscribeAsync)
            : Task.CompletedTask;

    /// <summary>Asks the node that holds the connection to do it, and waits for its ack or the timeout.</summary>
    private async Task SendGroupCommandAsync(RedisBackplaneGroupAction action, string connectionId, string groupName, CancellationToken cancellationToken)
    {
        await EnsureStartedAsync().ConfigureAwait(false);
        int id = Interlocked.Increment(ref _lastAckId);
        var ack = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _acks[id] = ack;
        try
        {
            var command = new RedisBackplaneGroupCommand(id, _serverName, action, groupName, connectionId);
            byte[] payload = Serialize(static (buffer, c) => RedisBackplaneProtocol.WriteGroupCommand(buffer, c), command);
            RedisBackplaneLog.Publishing(_logger, _channels.GroupManagement);
            await _client!.PublishAsync(_channels.GroupManagement, payload, cancellationToken).ConfigureAwait(false);
            await ack.Task.WaitAsync(_options.AckTimeout, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            string verb = action == RedisBackplaneGroupAction.Add ? "adding" : "removing";
            RedisBackplaneLog.AckTimedOut(_logger, verb, connectionId, groupName, (long)_options.AckTimeout.TotalMilliseconds);
            throw new TimeoutException(
                $"No hub node acknowledged {verb} connection '{connectionId}' {(action == RedisBackplaneGroupAction.Add ? "to" : "from")} group '{groupName}' " +
                $"within {_options.AckTimeout.TotalMilliseconds} ms (RedisBackplaneOptions.AckTimeout): the connection is not connected to any node, " +
                "or its node cannot be reached through Redis.");
        }
        finally
        {
            _acks.TryRemove(id, out _);
        }
    }

    // ---- client results (not used by this product) -------------------------------------------------

    /// <inheritdoc />
    public override Task<T> InvokeConnectionAsync<T>(string connectionId, string methodName, object?[] args, CancellationToken cancellationToken) =>
        throw new NotSupportedException("The Redis backplane does not support client results (InvokeAsync on a client); RealtimeAgents does not use them.");

    /// <inheritdoc />
    public override Task SetConnectionResultAsync(string connectionId, CompletionMessage result) =>
        throw new NotSupportedException("The Redis backplane does not support client results (InvokeAsync on a client); RealtimeAgents does not use them.");

    // ---- receiving ----------------------------------------------------------------------------------

    private async ValueTask OnInvocationAsync(string channel, ReadOnlyMemory<byte> payload, IEnumerable<HubConnectionContext> targets)
    {
        RedisBackplaneInvocation invocation;
        try
        {
            invocation = RedisBackplaneProtocol.ReadInvocation(payload);
        }
        catch (InvalidDataException ex)
        {
            RedisBackplaneLog.InvalidMessage(_logger, channel, ex);
            return;
        }

        // Our own publish: we wrote to our local connections when we sent it.
        if (invocation.Origin == _serverName)
        {
            return;
        }

        try
        {
            List<Task>? pending = null;
            WriteLocal(targets, invocation.ExcludedConnectionIds, invocation.Message, ref pending, CancellationToken.None);
            if (pending is not null)
            {
                await Task.WhenAll(pending).ConfigureAwait(false);
            }
        }
#pragma warning disable CA1031 // A failed write to one node's connections must not stop the channel's pump.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            RedisBackplaneLog.WriteFailed(_logger, channel, ex);
        }
    }

    private async ValueTask OnGroupCommandAsync(string channel, ReadOnlyMemory<byte> payload)
    {
        RedisBackplaneGroupCommand command;
        try
        {
            command = RedisBackplaneProtocol.ReadGroupCommand(payload);
        }
        catch (InvalidDataException ex)
        {
            RedisBackplaneLog.InvalidMessage(_logger, channel, ex);
            return;
        }

        if (!_connections.TryGetValue(command.ConnectionId, out LocalConnection? local))
        {
            return; // another node's connection (or none's: the sender times out)
        }

        try
        {
            await (command.Action == RedisBackplaneGroupAction.Add
                ? AddLocalAsync(local, command.GroupName)
                : RemoveLocalAsync(local, command.GroupName)).ConfigureAwait(false);
            byte[] ack = Serialize(static (buffer, id) => RedisBackplaneProtocol.WriteAck(buffer, id), command.Id);
            await _client!.PublishAsync(_channels.Ack(command.Origin), ack).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // The sender times out with a clear message; this node logs why.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            RedisBackplaneLog.GroupCommandFailed(_logger, command.ConnectionId, ex);
        }
    }

    private ValueTask OnAckAsync(string channel, ReadOnlyMemory<byte> payload)
    {
        try
        {
            if (_acks.TryGetValue(RedisBackplaneProtocol.ReadAck(payload), out TaskCompletionSource? ack))
            {
                ack.TrySetResult();
            }
        }
        catch (InvalidDataException ex)
        {
            RedisBackplaneLog.InvalidMessage(_logger, channel, ex);
        }

        return ValueTask.CompletedTask;
    }

    private void OnMessagesMayHaveBeenLost(IReadOnlyList<string> channels)
    {
        // Resubscription already happened in the client; all we can do is say so. Task events are not
        // affected: the relay heals them from the event log.
        int ours = channels.Count(_channels.IsOurs);
        if (ours > 0)
        {
            RedisBackplaneLog.MessagesMayHaveBeenLost(_logger, ours);
        }
    }

    // ---- subscriptions ------------------------------------------------------------------------------

    private Task<IAsyncDisposable> SubscribeGroupAsync(string channel) =>
        SubscribeAsync(channel, (ch, payload) => OnInvocationAsync(ch, payload, _groups.Members(ch)));

    private Task<IAsyncDisposable> SubscribeUserAsync(string channel) =>
        SubscribeAsync(channel, (ch, payload) => OnInvocationAsync(ch, payload, _users.Members(ch)));

    private async Task<IAsyncDisposable> SubscribeAsync(string channel, Func<string, ReadOnlyMemory<byte>, ValueTask> handler)
    {
        RedisBackplaneLog.Subscribing(_logger, channel);
        return await _client!.Subscriber.SubscribeAsync(channel, handler).ConfigureAwait(false);
    }

    private async Task UnsubscribeAsync(string channel, IAsyncDisposable subscription)
    {
        RedisBackplaneLog.Unsubscribing(_logger, channel);
        try
        {
            await subscription.DisposeAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is RedisException or ObjectDisposedException)
        {
            RedisBackplaneLog.UnsubscribeFailed(_logger, channel, ex);
        }
    }

    // ---- start and stop -----------------------------------------------------------------------------

    private Task EnsureStartedAsync()
    {
        Task? started = Volatile.Read(ref _started);
        if (started is { IsCompletedSuccessfully: true })
        {
            return started;
        }

        lock (_startLock)
        {
            ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
            if (_started is null || _started.IsFaulted || _started.IsCanceled)
            {
                _started = Task.Run(StartAsync);
            }

            return _started;
        }
    }

    private async Task StartAsync()
    {
        try
        {
            if (_client is null)
            {
                (_client, _ownsClient) = await GetClientAsync().ConfigureAwait(false);
                _client.Subscriber.MessagesMayHaveBeenLost += OnMessagesMayHaveBeenLost;
            }

            // Retried after a failure: subscribe only what is still missing.
            if (_nodeSubscriptions.Count == 0)
            {
                _nodeSubscriptions.Add(await SubscribeAsync(_channels.All,
                    (ch, payload) => OnInvocationAsync(ch, payload, _connections.Values.Select(c => c.Connection))).ConfigureAwait(false));
            }

            if (_nodeSubscriptions.Count == 1)
            {
                _nodeSubscriptions.Add(await SubscribeAsync(_channels.GroupManagement, OnGroupCommandAsync).ConfigureAwait(false));
            }

            if (_nodeSubscriptions.Count == 2)
            {
                _nodeSubscriptions.Add(await SubscribeAsync(_channels.Ack(_serverName), OnAckAsync).ConfigureAwait(false));
            }

            RedisBackplaneLog.Started(_logger, typeof(THub).Name, _client.Options.EndpointDisplay, _serverName);
        }
        catch (Exception ex)
        {
            RedisBackplaneLog.StartFailed(_logger, ex);
            throw;
        }
    }

    private async Task<(RedisClient Client, bool Owned)> GetClientAsync()
    {
        if (_options.ClientFactory is { } factory)
        {
            return (await factory(_loggerFactory, CancellationToken.None).ConfigureAwait(false), true);
        }

        if (_options.UseExistingClient && _services?.GetService<IServiceProviderIsService>() is { } isService
            && isService.IsService(typeof(RedisClient)))
        {
            return (_services.GetRequiredService<RedisClient>(), false);
        }

        if (string.IsNullOrWhiteSpace(_options.Configuration))
        {
            throw new InvalidOperationException(
                "The Redis backplane has no client: set RedisBackplaneOptions.Configuration (a connection string), or register a RedisClient and keep UseExistingClient on.");
        }

        RedisOptions redisOptions = RedisOptions.Parse(_options.Configuration);
        redisOptions.ClientName ??= "realtime-agents-backplane";
        return (await RedisClient.ConnectAsync(redisOptions, _loggerFactory).ConfigureAwait(false), true);
    }

    /// <summary>Unsubscribes everything and closes the client if the backplane opened it.</summary>
    public async ValueTask DisposeAsync()
    {
        Task? started;
        lock (_startLock)
        {
            if (Interlocked.Exchange(ref _disposed, 1) != 0)
            {
                return;
            }

            started = _started;
        }

        if (started is not null)
        {
            try
            {
                await started.ConfigureAwait(false);
            }
#pragma warning disable CA1031 // A start that failed left nothing to undo beyond what is below.
            catch (Exception)
#pragma warning restore CA1031
            {
            }
        }

        if (_client is null)
        {
            return;
        }

        if (_ownsClient)
        {
            _client.Subscriber.MessagesMayHaveBeenLost -= OnMessagesMayHaveBeenLost;
            await _client.DisposeAsync().ConfigureAwait(false);
            return;
        }

        try
        {
            _client.Subscriber.MessagesMayHaveBeenLost -= OnMessagesMayHaveBeenLost;
        }
        catch (ObjectDisposedException)
        {
            // The container disposed the shared client first: its channels are gone with it.
            return;
        }

        // A shared client lives on: give back every channel we hold on it.
        var subscriptions = new List<IAsyncDisposable>(_nodeSubscriptions);
        subscriptions.AddRange(_groups.Clear());
        subscriptions.AddRange(_users.Clear());
        foreach (LocalConnection local in _connections.Values)
        {
            if (local.Subscription is { } s)
            {
                subscriptions.Add(s);
            }
        }

        _connections.Clear();
        foreach (IAsyncDisposable subscription in subscriptions)
        {
            await UnsubscribeAsync("(shutdown)", subscription).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    /// <summary>A connection on this node: its connection-channel subscription and the groups it is in.</summary>
    private sealed class LocalConnection(HubConnectionContext connection)
    {
        private readonly HashSet<string> _groups = new(StringComparer.Ordinal);

        public HubConnectionContext Connection { get; } = connection;

        public IAsyncDisposable? Subscription { get; set; }

        public bool AddGroup(string group)
        {
            lock (_groups)
            {
                return _groups.Add(group);
            }
        }

        public bool RemoveGroup(string group)
        {
            lock (_groups)
            {
                return _groups.Remove(group);
            }
        }

        public string[] TakeGroups()
        {
            lock (_groups)
            {
                string[] groups = [.. _groups];
                _groups.Clear();
                return groups;
            }
        }
    }
}
