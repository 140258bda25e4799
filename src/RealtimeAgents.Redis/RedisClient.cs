using System.Buffers;
using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using RealtimeAgents.Redis.Internal;

namespace RealtimeAgents.Redis;

/// <summary>
/// A Redis client over one multiplexed, pipelined connection. Thread-safe: any number of callers may
/// issue commands concurrently; their commands are written back to back and their replies matched in
/// order. Blocking commands (XREAD BLOCK, XREADGROUP BLOCK) run on dedicated pooled connections and
/// pub/sub on its own connection (<see cref="Subscriber"/>), so neither can stall ordinary commands.
/// </summary>
/// <remarks>
/// Failure model. Every command has <see cref="RedisOptions.CommandTimeout"/> and the caller's token.
/// When the socket fails, every command in flight fails with <see cref="RedisConnectionException"/>
/// (a command is never retried: it may have run), and the client reconnects in the background with
/// exponential backoff and jitter. While it is disconnected new commands wait for the reconnect or fail
/// fast, per <see cref="RedisOptions.WhenDisconnected"/>.
/// </remarks>
public sealed partial class RedisClient : IAsyncDisposable
{
    private const string InteractiveRole = "interactive";

    private readonly RedisOptions _options;
    private readonly ILoggerFactory _loggerFactory;
    private readonly ILogger _logger;
    private readonly PendingCommandPool _pool;
    private readonly RedisCounters _counters = new();
    private readonly Lock _stateLock = new();
    private readonly CancellationTokenSource _disposeCts = new();
    private readonly long _commandTimeout;
    private readonly BlockingConnectionPool _blockingPool;
    private readonly Lazy<RedisSubscriber> _subscriber;

    private volatile RedisConnection? _connection;
    private TaskCompletionSource<RedisConnection> _connected = NewConnectedSource();
    private bool _reconnecting;
    private int _waitingForConnection;
    private int _disposed;

    private RedisClient(RedisOptions options, ILoggerFactory? loggerFactory)
    {
        _options = options;
        _loggerFactory = loggerFactory ?? NullLoggerFactory.Instance;
        _logger = _loggerFactory.CreateLogger("RealtimeAgents.Redis.RedisClient");
        _pool = new PendingCommandPool(!options.InlineContinuations);
        _commandTimeout = RedisConnection.ToTimestamp(options.CommandTimeout);
        _blockingPool = new BlockingConnectionPool(this);
        _subscriber = new Lazy<RedisSubscriber>(() => new RedisSubscriber(this), LazyThreadSafetyMode.ExecutionAndPublication);
    }

    /// <summary>The options in force (a copy of what was passed in; changing it has no effect).</summary>
    public RedisOptions Options => _options;

    /// <summary>True while the interactive connection is up.</summary>
    public bool IsConnected => _connection is { IsClosed: false };

    /// <summary>Commands written to any of this client's connections since it was created.</summary>
    public long CommandsSent => _counters.Commands;

    /// <summary>Times the interactive connection was re-established after a failure.</summary>
    public long Reconnects => _counters.Reconnects;

    /// <summary>Commands that got no reply within the command timeout.</summary>
    public long Timeouts => _counters.Timeouts;

    /// <summary>Commands written on the interactive connection and still waiting for their reply.</summary>
    public int Pending => _connection?.PendingCount ?? 0;

    /// <summary>Pub/sub on a connection of its own, opened on first use.</summary>
    public RedisSubscriber Subscriber
    {
        get
        {
            ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
            return _subscriber.Value;
        }
    }

    internal ILoggerFactory LoggerFactory => _loggerFactory;

    internal RedisCounters Counters => _counters;

    internal PendingCommandPool Pool => _pool;

    internal CancellationToken DisposeToken => _disposeCts.Token;

    /// <summary>Connects and runs the handshake. With <see cref="RedisOptions.AbortOnConnectFail"/> false the
    /// client is returned even if the server is unreachable, and keeps trying in the background.</summary>
    public static async Task<RedisClient> ConnectAsync(RedisOptions options, ILoggerFactory? loggerFactory = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        var client = new RedisClient(options.Clone(), loggerFactory);
        try
        {
            RedisConnection connection = await client.OpenAsync(InteractiveRole, null, cancellationToken).ConfigureAwait(false);
            client.Attach(connection, attempts: 0);
        }
        catch (RedisConnectionException) when (!options.AbortOnConnectFail)
        {
            client.StartReconnect();
        }
        catch
        {
            await client.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        return client;
    }

    /// <summary>Parses <paramref name="connectionString"/> with <see cref="RedisOptions.Parse"/> and connects.</summary>
    public static Task<RedisClient> ConnectAsync(string connectionString, ILoggerFactory? loggerFactory = null, CancellationToken cancellationToken = default) =>
        ConnectAsync(RedisOptions.Parse(connectionString), loggerFactory, cancellationToken);

    /// <summary>
    /// Sends any command. Arguments are serialized before this method returns, so the span may be reused
    /// at once. An error reply throws <see cref="RedisServerException"/>.
    /// </summary>
    public ValueTask<RedisReply> ExecuteAsync(string command, ReadOnlySpan<RedisArg> args, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(command);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        ThrowIfConnectionStateCommand(command);
        RedisConnection? connection = _connection;
        if (connection is not null
            && connection.TryExecute(command, args, Stopwatch.GetTimestamp() + _commandTimeout, cancellationToken, out ValueTask<RedisReply> reply))
        {
            return reply;
        }

        return ExecuteWhenConnectedAsync(command, args.ToArray(), cancellationToken);
    }

    /// <summary>Sends any command; <c>client.ExecuteAsync("SET", "k", 42)</c>.</summary>
    public ValueTask<RedisReply> ExecuteAsync(string command, params ReadOnlySpan<RedisArg> args) =>
        ExecuteAsync(command, args, CancellationToken.None);

    /// <summary>Sends any command.</summary>
    public ValueTask<RedisReply> ExecuteAsync(string command, IReadOnlyList<RedisArg> args, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(args);
        RedisArg[] rented = ArrayPool<RedisArg>.Shared.Rent(args.Count);
        try
        {
            for (int i = 0; i < args.Count; i++)
            {
                rented[i] = args[i];
            }

            return ExecuteAsync(command, rented.AsSpan(0, args.Count), cancellationToken);
        }
        finally
        {
            rented.AsSpan(0, args.Count).Clear();
            ArrayPool<RedisArg>.Shared.Return(rented);
        }
    }

    /// <summary>
    /// Commands that would change the shared connection for every other caller, or turn it into a stream of
    /// replies nobody asked for, are refused: they would silently break reply matching or survive only until
    /// the next reconnect.
    /// </summary>
    private static void ThrowIfConnectionStateCommand(string command)
    {
        switch (command.Length)
        {
            case 6 when command.Equals("SELECT", StringComparison.OrdinalIgnoreCase):
                throw new ArgumentException("SELECT would switch the database for every caller sharing the connection; set RedisOptions.Database.", nameof(command));
            case 7 when command.Equals("MONITOR", StringComparison.OrdinalIgnoreCase):
            case 9 when command.Equals("SUBSCRIBE", StringComparison.OrdinalIgnoreCase):
            case 10 when command.Equals("PSUBSCRIBE", StringComparison.OrdinalIgnoreCase) || command.Equals("SSUBSCRIBE", StringComparison.OrdinalIgnoreCase):
                throw new ArgumentException($"{command} turns a connection into a message stream; use RedisClient.Subscriber.", nameof(command));
            default:
                return;
        }
    }

    private async ValueTask<RedisReply> ExecuteWhenConnectedAsync(string command, RedisArg[] args, CancellationToken cancellationToken)
    {
        if (_options.WhenDisconnected == RedisDisconnectedBehavior.FailFast)
        {
            throw new RedisConnectionException($"Not connected to Redis at {_options.EndpointDisplay} (WhenDisconnected = FailFast).");
        }

        if (Interlocked.Increment(ref _waitingForConnection) > _options.DisconnectedQueueLimit)
        {
            Interlocked.Decrement(ref _waitingForConnection);
            throw new RedisConnectionException($"Not connected to Redis at {_options.EndpointDisplay} and {_options.DisconnectedQueueLimit} commands are already waiting.");
        }

        try
        {
            long deadline = Stopwatch.GetTimestamp() + RedisConnection.ToTimestamp(_options.DisconnectedWaitTimeout);
            while (true)
            {
                RedisConnection connection = await WaitForConnectionAsync(deadline, cancellationToken).ConfigureAwait(false);
                if (connection.TryExecute(command, args, Stopwatch.GetTimestamp() + _commandTimeout, cancellationToken, out ValueTask<RedisReply> reply))
                {
                    return await reply.ConfigureAwait(false);
                }

                // It closed between the signal and our write: make sure a reconnect is under way and wait again.
                OnConnectionFailed(connection, new RedisConnectionException("Connection closed."));
            }
        }
        finally
        {
            Interlocked.Decrement(ref _waitingForConnection);
        }
    }

    private async ValueTask<RedisConnection> WaitForConnectionAsync(long deadline, CancellationToken cancellationToken)
    {
        Task<RedisConnection> connected;
        lock (_stateLock)
        {
            if (_connection is { IsClosed: false } current)
            {
                return current;
            }

            connected = _connected.Task;
        }

        long remaining = deadline - Stopwatch.GetTimestamp();
        if (remaining <= 0)
        {
            throw NotConnectedInTime(null);
        }

        try
        {
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _disposeCts.Token);
            return await connected.WaitAsync(Stopwatch.GetElapsedTime(0, remaining), linked.Token).ConfigureAwait(false);
        }
        catch (TimeoutException ex)
        {
            throw NotConnectedInTime(ex);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new ObjectDisposedException(nameof(RedisClient));
        }
    }

    private RedisConnectionException NotConnectedInTime(Exception? inner) => new(
        $"Not connected to Redis at {_options.EndpointDisplay}; no reconnect within {_options.DisconnectedWaitTimeout.TotalMilliseconds} ms.", inner);

    internal Task<RedisConnection> OpenAsync(string role, Action<RedisConnection, RedisReply>? pushHandler, CancellationToken cancellationToken,
        Action<RedisConnection, Exception>? onFailed = null) =>
        RedisConnection.ConnectAsync(_options, _logger, _pool, _counters, role, pushHandler,
            role == InteractiveRole ? OnConnectionFailed : onFailed, cancellationToken);

    private void Attach(RedisConnection connection, int attempts)
    {
        TaskCompletionSource<RedisConnection> connected;
        lock (_stateLock)
        {
            _connection = connection;
            _reconnecting = false;
            connected = _connected;
        }

        connected.TrySetResult(connection);
        if (attempts > 0)
        {
            _counters.Reconnect();
            RedisLog.Reconnected(_logger, InteractiveRole, _options.EndpointDisplay, attempts);
        }

        if (connection.IsClosed)
        {
            OnConnectionFailed(connection, new RedisConnectionException("Connection closed right after it opened."));
        }
    }

    private void OnConnectionFailed(RedisConnection connection, Exception reason)
    {
        lock (_stateLock)
        {
            if (_connection != connection && _connection is not null)
            {
                return;
            }

            _connection = null;
            if (_connected.Task.IsCompleted)
            {
                _connected = NewConnectedSource();
            }
        }

        StartReconnect();
    }

    private void StartReconnect()
    {
        lock (_stateLock)
        {
            if (_reconnecting || Volatile.Read(ref _disposed) != 0)
            {
                return;
            }

            _reconnecting = true;
        }

        _ = Task.Run(ReconnectLoopAsync);
    }

    private async Task ReconnectLoopAsync()
    {
        int attempt = 0;
        while (!_disposeCts.IsCancellationRequested)
        {
            attempt++;
            try
            {
                RedisConnection connection = await OpenAsync(InteractiveRole, null, _disposeCts.Token).ConfigureAwait(false);
                if (Volatile.Read(ref _disposed) != 0)
                {
                    await connection.DisposeAsync().ConfigureAwait(false);
                    return;
                }

                Attach(connection, attempt);
                return;
            }
            catch (OperationCanceledException) when (_disposeCts.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                TimeSpan delay = Backoff.Delay(_options, attempt - 1);
                RedisLog.ReconnectAttemptFailed(_logger, InteractiveRole, attempt, _options.EndpointDisplay, (long)delay.TotalMilliseconds, ex);
                try
                {
                    await Task.Delay(delay, _disposeCts.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    private static TaskCompletionSource<RedisConnection> NewConnectedSource() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Closes every connection; commands in flight fail with <see cref="RedisConnectionException"/>.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _disposeCts.CancelAsync().ConfigureAwait(false);
        RedisConnection? connection;
        lock (_stateLock)
        {
            connection = _connection;
            _connection = null;
            _connected.TrySetException(new ObjectDisposedException(nameof(RedisClient)));
        }

        if (_subscriber.IsValueCreated)
        {
            await _subscriber.Value.DisposeAsync().ConfigureAwait(false);
        }

        await _blockingPool.DisposeAsync().ConfigureAwait(false);
        if (connection is not null)
        {
            await connection.DisposeAsync().ConfigureAwait(false);
        }

        // _disposeCts is deliberately not disposed: background loops still read its token while they wind
        // down, and a CancellationTokenSource without a timer holds nothing that needs releasing.
    }
}
