using System.Collections.Concurrent;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using RealtimeAgents.Redis.Internal;

namespace RealtimeAgents.Redis;

/// <summary>
/// Pub/sub over a connection of its own (a subscribed connection cannot run ordinary commands).
/// </summary>
/// <remarks>
/// <para>Subscriptions are reference counted per channel: the first handler for a channel sends SUBSCRIBE,
/// disposing the last one sends UNSUBSCRIBE. Subscribe and unsubscribe calls are serialized and each
/// waits for the server's confirmation, so when <see cref="SubscribeAsync"/> returns, every message
/// published afterwards reaches the handler.</para>
/// <para>Delivery: each channel has its own queue and pump; a handler is awaited before the next message
/// of the same channel is delivered, so a channel's messages arrive in publish order. Different channels
/// run concurrently. A handler that throws is logged and the pump carries on. The queues are unbounded:
/// a handler that cannot keep up grows memory, so handlers should hand work off rather than do it.</para>
/// <para>Reconnect: when the connection fails it is re-established with backoff, every channel with a live
/// handler is subscribed again, and then <see cref="MessagesMayHaveBeenLost"/> fires: anything published
/// while the connection was down is gone, and callers that care (e.g. a relay backed by a stream) must
/// re-read their source of truth.</para>
/// </remarks>
public sealed class RedisSubscriber
{
    private const string Role = "subscriber";

    private readonly RedisClient _client;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly ConcurrentDictionary<string, ChannelState> _channels = new(StringComparer.Ordinal);
    private readonly Lock _sync = new();
    private readonly CancellationTokenSource _disposeCts = new();

    private RedisConnection? _connection;
    private TaskCompletionSource<RedisConnection> _connected = NewConnectedSource();
    private bool _connecting;
    private bool _everConnected;
    private AckWaiter? _ack;
    private int _disposed;
    private long _reconnects;

    internal RedisSubscriber(RedisClient client)
    {
        _client = client;
        _logger = client.LoggerFactory.CreateLogger("RealtimeAgents.Redis.RedisSubscriber");
    }

    /// <summary>
    /// Fires after the subscriber connection was lost, re-established, and every channel resubscribed, with
    /// the channels that were resubscribed. Messages published during the outage were not delivered.
    /// Handlers run on a thread-pool thread; exceptions are logged.
    /// </summary>
    public event Action<IReadOnlyList<string>>? MessagesMayHaveBeenLost;

    public bool IsConnected => Volatile.Read(ref _connection) is { IsClosed: false };

    /// <summary>Times the subscriber connection was re-established after a failure.</summary>
    public long Reconnects => Interlocked.Read(ref _reconnects);

    /// <summary>Channels with at least one handler.</summary>
    public IReadOnlyCollection<string> Channels => [.. _channels.Keys];

    /// <summary>
    /// Subscribes <paramref name="handler"/> to <paramref name="channel"/>; dispose the result to unsubscribe.
    /// The handler gets the channel name and the message payload (valid after the handler returns; it is not
    /// a pooled buffer).
    /// </summary>
    public async ValueTask<IAsyncDisposable> SubscribeAsync(string channel, Func<string, ReadOnlyMemory<byte>, ValueTask> handler,
        CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(channel);
        ArgumentNullException.ThrowIfNull(handler);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);

        RedisConnection connection = await WaitForConnectionAsync(cancellationToken).ConfigureAwait(false);
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!_channels.TryGetValue(channel, out ChannelState? state))
            {
                state = new ChannelState(channel, _logger);
                _channels[channel] = state;
                try
                {
                    await SubscribeOnAsync(Volatile.Read(ref _connection) ?? connection, "SUBSCRIBE", [channel], cancellationToken).ConfigureAwait(false);
                }
                catch (RedisConnectionException)
                {
                    // The connection died under us: the channel stays registered and the reconnect subscribes it.
                }
                catch
                {
                    // Timed out or cancelled: the SUBSCRIBE may still take effect, so take it back (best effort;
                    // its confirmation is not awaited, and messages for a channel nobody holds are dropped anyway).
                    _channels.TryRemove(channel, out _);
                    state.Complete();
                    Volatile.Read(ref _connection)?.TrySendWithoutReply("UNSUBSCRIBE", [channel]);
                    throw;
                }
            }

            return state.Add(this, handler);
        }
        finally
        {
            _gate.Release();
        }
    }

    private async ValueTask RemoveAsync(ChannelState state, HandlerEntry entry)
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            if (!state.Remove(entry) || state.HasHandlers)
            {
                return;
            }

            _channels.TryRemove(new KeyValuePair<string, ChannelState>(state.Name, state));
            state.Complete();
            RedisConnection? connection = Volatile.Read(ref _connection);
            if (connection is not null && !connection.IsClosed && Volatile.Read(ref _disposed) == 0)
            {
                try
                {
                    await SubscribeOnAsync(connection, "UNSUBSCRIBE", [state.Name], CancellationToken.None).ConfigureAwait(false);
                }
                catch (RedisException)
                {
                    // Best effort: a dead connection forgets its subscriptions anyway, and messages for a channel
                    // nobody listens to are dropped on arrival.
                }
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Sends (UN)SUBSCRIBE for the channels and waits for one confirmation per channel. Caller holds the gate.</summary>
    private async Task SubscribeOnAsync(RedisConnection connection, string command, IReadOnlyList<string> channels, CancellationToken cancellationToken)
    {
        var waiter = new AckWaiter(connection, command.ToLowerInvariant(), channels);
        lock (_sync)
        {
            _ack = waiter;
        }

        try
        {
            var args = new RedisArg[channels.Count];
            for (int i = 0; i < args.Length; i++)
            {
                args[i] = channels[i];
            }

            if (!connection.TrySendWithoutReply(command, args))
            {
                throw new RedisConnectionException("The subscriber connection is closed.");
            }

            Task done = await Task.WhenAny(waiter.Done.Task, connection.Closed).WaitAsync(_client.Options.CommandTimeout, cancellationToken).ConfigureAwait(false);
            if (done != waiter.Done.Task && !waiter.Done.Task.IsCompleted)
            {
                throw new RedisConnectionException($"The subscriber connection closed before {command} was confirmed.");
            }
        }
        catch (TimeoutException)
        {
            throw new RedisTimeoutException($"Redis did not confirm {command} within {_client.Options.CommandTimeout.TotalMilliseconds} ms.");
        }
        finally
        {
            lock (_sync)
            {
                if (_ack == waiter)
                {
                    _ack = null;
                }
            }
        }
    }

    private void OnPush(RedisConnection connection, RedisReply frame)
    {
        if (frame.Count < 3 || frame[0].Kind is not (RedisReplyKind.BulkString or RedisReplyKind.SimpleString))
        {
            RedisLog.SubscriberFrameIgnored(_logger, frame.Kind.ToString(), frame.ToString());
            return;
        }

        ReadOnlySpan<byte> kind = frame[0].Memory.Span;
        if (kind.SequenceEqual("message"u8))
        {
            if (_channels.TryGetValue(frame[1].AsString()!, out ChannelState? state))
            {
                state.Enqueue(frame[2].Memory);
            }
        }
        else if (kind.SequenceEqual("subscribe"u8) || kind.SequenceEqual("unsubscribe"u8))
        {
            string ackKind = kind.SequenceEqual("subscribe"u8) ? "subscribe" : "unsubscribe";
            string? channel = frame[1].AsString();
            lock (_sync)
            {
                if (_ack is { } waiter && waiter.Connection == connection && waiter.Kind == ackKind && channel is not null)
                {
                    waiter.Confirm(channel);
                }
            }
        }
        else
        {
            RedisLog.SubscriberFrameIgnored(_logger, frame[0].AsString()!, frame.ToString());
        }
    }

    private async ValueTask<RedisConnection> WaitForConnectionAsync(CancellationToken cancellationToken)
    {
        Task<RedisConnection> connected;
        lock (_sync)
        {
            if (_connection is { IsClosed: false } current)
            {
                return current;
            }

            connected = _connected.Task;
        }

        StartConnecting();
        TimeSpan wait = _client.Options.WhenDisconnected == RedisDisconnectedBehavior.FailFast && _everConnected
            ? TimeSpan.Zero
            : _client.Options.ConnectTimeout + _client.Options.DisconnectedWaitTimeout;
        try
        {
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _disposeCts.Token);
            return await connected.WaitAsync(wait, linked.Token).ConfigureAwait(false);
        }
        catch (TimeoutException ex)
        {
            throw new RedisConnectionException($"The Redis subscriber could not connect to {_client.Options.EndpointDisplay} within {wait.TotalMilliseconds} ms.", ex);
        }
    }

    private void StartConnecting()
    {
        lock (_sync)
        {
            if (_connecting || Volatile.Read(ref _disposed) != 0)
            {
                return;
            }

            _connecting = true;
        }

        _ = Task.Run(ConnectLoopAsync);
    }

    private async Task ConnectLoopAsync()
    {
        int attempt = 0;
        CancellationToken stopping = _disposeCts.Token;
        while (!stopping.IsCancellationRequested)
        {
            attempt++;
            RedisConnection? connection = null;
            try
            {
                connection = await _client.OpenAsync(Role, OnPush, stopping, OnConnectionFailed).ConfigureAwait(false);
                connection.SubscriberMode = true;
                IReadOnlyList<string> resubscribed = [];
                await _gate.WaitAsync(stopping).ConfigureAwait(false);
                try
                {
                    string[] channels = [.. _channels.Keys];
                    if (channels.Length > 0)
                    {
                        await SubscribeOnAsync(connection, "SUBSCRIBE", channels, stopping).ConfigureAwait(false);
                    }

                    resubscribed = channels;
                    TaskCompletionSource<RedisConnection> connected;
                    lock (_sync)
                    {
                        _connection = connection;
                        _connecting = false;
                        connected = _connected;
                    }

                    connected.TrySetResult(connection);
                }
                finally
                {
                    _gate.Release();
                }

                if (_everConnected)
                {
                    Interlocked.Increment(ref _reconnects);
                    RedisLog.Resubscribed(_logger, resubscribed.Count);
                    if (resubscribed.Count > 0)
                    {
                        RaiseMessagesMayHaveBeenLost(resubscribed);
                    }
                }

                _everConnected = true;
                if (connection.IsClosed)
                {
                    OnConnectionFailed(connection, new RedisConnectionException("Subscriber connection closed right after it opened."));
                }

                return;
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                if (connection is not null)
                {
                    await connection.DisposeAsync().ConfigureAwait(false);
                }

                return;
            }
            catch (Exception ex)
            {
                if (connection is not null)
                {
                    RedisLog.ResubscribeFailed(_logger, ex);
                    await connection.DisposeAsync().ConfigureAwait(false);
                }

                TimeSpan delay = Backoff.Delay(_client.Options, attempt - 1);
                RedisLog.ReconnectAttemptFailed(_logger, Role, attempt, _client.Options.EndpointDisplay, (long)delay.TotalMilliseconds, ex);
                try
                {
                    await Task.Delay(delay, stopping).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    private void RaiseMessagesMayHaveBeenLost(IReadOnlyList<string> channels)
    {
        Action<IReadOnlyList<string>>? handlers = MessagesMayHaveBeenLost;
        if (handlers is null)
        {
            return;
        }

        foreach (Action<IReadOnlyList<string>> handler in handlers.GetInvocationList().Cast<Action<IReadOnlyList<string>>>())
        {
            try
            {
                handler(channels);
            }
#pragma warning disable CA1031 // A subscriber's bug must not stop the others from being told.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                RedisLog.ReconnectedHandlerFailed(_logger, ex);
            }
        }
    }

    private void OnConnectionFailed(RedisConnection connection, Exception reason)
    {
        lock (_sync)
        {
            if (_connection != connection)
            {
                return;
            }

            _connection = null;
            if (_connected.Task.IsCompleted)
            {
                _connected = NewConnectedSource();
            }
        }

        StartConnecting();
    }

    private static TaskCompletionSource<RedisConnection> NewConnectedSource() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Called by the owning client's DisposeAsync; the subscriber lives and dies with its client.</summary>
    internal async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _disposeCts.CancelAsync().ConfigureAwait(false);
        RedisConnection? connection;
        lock (_sync)
        {
            connection = _connection;
            _connection = null;
            _connected.TrySetException(new ObjectDisposedException(nameof(RedisSubscriber)));
        }

        if (connection is not null)
        {
            await connection.DisposeAsync().ConfigureAwait(false);
        }

        foreach (ChannelState state in _channels.Values)
        {
            state.Complete();
        }

        foreach (ChannelState state in _channels.Values)
        {
            await state.WaitForPumpAsync(TimeSpan.FromSeconds(2)).ConfigureAwait(false);
        }

        _channels.Clear();
    }

    private sealed class AckWaiter(RedisConnection connection, string kind, IReadOnlyList<string> channels)
    {
        private readonly HashSet<string> _remaining = new(channels, StringComparer.Ordinal);

        public RedisConnection Connection { get; } = connection;

        public string Kind { get; } = kind;

        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Confirm(string channel)
        {
            if (_remaining.Remove(channel) && _remaining.Count == 0)
            {
                Done.TrySetResult();
            }
        }
    }

    private sealed class HandlerEntry(Func<string, ReadOnlyMemory<byte>, ValueTask> handler)
    {
        public Func<string, ReadOnlyMemory<byte>, ValueTask> Handler { get; } = handler;
    }

    private sealed class Subscription(RedisSubscriber owner, ChannelState state, HandlerEntry entry) : IAsyncDisposable
    {
        private int _disposed;

        public ValueTask DisposeAsync() =>
            Interlocked.Exchange(ref _disposed, 1) == 0 ? owner.RemoveAsync(state, entry) : ValueTask.CompletedTask;
    }

    /// <summary>One channel: its handlers and the queue + pump that delivers its messages in order.</summary>
    private sealed class ChannelState
    {
        private readonly Channel<ReadOnlyMemory<byte>> _queue =
            Channel.CreateUnbounded<ReadOnlyMemory<byte>>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });

        private readonly ILogger _logger;
        private readonly Task _pump;
        private HandlerEntry[] _handlers = [];

        public ChannelState(string name, ILogger logger)
        {
            Name = name;
            _logger = logger;
            _pump = Task.Run(PumpAsync);
        }

        public string Name { get; }

        public bool HasHandlers => Volatile.Read(ref _handlers).Length > 0;

        public IAsyncDisposable Add(RedisSubscriber owner, Func<string, ReadOnlyMemory<byte>, ValueTask> handler)
        {
            var entry = new HandlerEntry(handler);
            lock (_queue)
            {
                _handlers = [.. _handlers, entry];
            }

            return new Subscription(owner, this, entry);
        }

        public bool Remove(HandlerEntry entry)
        {
            lock (_queue)
            {
                int index = Array.IndexOf(_handlers, entry);
                if (index < 0)
                {
                    return false;
                }

                _handlers = [.. _handlers.AsSpan(0, index), .. _handlers.AsSpan(index + 1)];
                return true;
            }
        }

        public void Enqueue(ReadOnlyMemory<byte> message) => _queue.Writer.TryWrite(message);

        public void Complete() => _queue.Writer.TryComplete();

        public async Task WaitForPumpAsync(TimeSpan timeout)
        {
            try
            {
                await _pump.WaitAsync(timeout).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
            }
        }

        private async Task PumpAsync()
        {
            ChannelReader<ReadOnlyMemory<byte>> reader = _queue.Reader;
            while (await reader.WaitToReadAsync().ConfigureAwait(false))
            {
                while (reader.TryRead(out ReadOnlyMemory<byte> message))
                {
                    foreach (HandlerEntry entry in Volatile.Read(ref _handlers))
                    {
                        try
                        {
                            await entry.Handler(Name, message).ConfigureAwait(false);
                        }
#pragma warning disable CA1031 // One handler's bug must not stop delivery to the channel.
                        catch (Exception ex)
#pragma warning restore CA1031
                        {
                            RedisLog.SubscriberHandlerFailed(_logger, Name, ex);
                        }
                    }
                }
            }
        }
    }
}
