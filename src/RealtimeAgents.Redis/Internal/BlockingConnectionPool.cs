namespace RealtimeAgents.Redis.Internal;

/// <summary>
/// Dedicated connections for blocking commands. A blocked XREAD holds its connection for up to the block
/// time, so it can never share the multiplexed one; each blocking call rents a connection of its own,
/// and gives it back if it ended normally. A call that was cancelled or timed out closes its connection
/// instead: the server is still blocked on it, and closing is the one way to unblock it that needs no
/// further round trip (the alternative, CLIENT UNBLOCK from another connection, races with the reply).
/// </summary>
internal sealed class BlockingConnectionPool : IAsyncDisposable
{
    private const string Role = "blocking";

    private readonly RedisClient _client;
    private readonly Stack<RedisConnection> _idle = new();
    private readonly HashSet<RedisConnection> _rented = [];
    private readonly Lock _sync = new();
    private bool _disposed;

    public BlockingConnectionPool(RedisClient client) => _client = client;

    public async ValueTask<RedisConnection> RentAsync(CancellationToken cancellationToken)
    {
        lock (_sync)
        {
            ObjectDisposedException.ThrowIf(_disposed, typeof(RedisClient));
            while (_idle.TryPop(out RedisConnection? connection))
            {
                if (!connection.IsClosed)
                {
                    _rented.Add(connection);
                    return connection;
                }
            }
        }

        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _client.DisposeToken);
        RedisConnection opened = await _client.OpenAsync(Role, null, linked.Token).ConfigureAwait(false);
        lock (_sync)
        {
            if (!_disposed)
            {
                _rented.Add(opened);
                return opened;
            }
        }

        await opened.DisposeAsync().ConfigureAwait(false);
        throw new ObjectDisposedException(nameof(RedisClient));
    }

    /// <summary>Closes a connection whose blocked command was abandoned.</summary>
    public void Discard(RedisConnection connection)
    {
        lock (_sync)
        {
            _rented.Remove(connection);
        }

        connection.Fail(new ObjectDisposedException("blocking connection"));
        _ = connection.DisposeAsync().AsTask();
    }

    /// <summary>Keeps a healthy idle connection, closes anything else.</summary>
    public void Return(RedisConnection connection)
    {
        lock (_sync)
        {
            _rented.Remove(connection);
            if (!_disposed && !connection.IsClosed && connection.PendingCount == 0 && _idle.Count < _client.Options.MaxIdleBlockingConnections)
            {
                _idle.Push(connection);
                return;
            }
        }

        _ = connection.DisposeAsync().AsTask();
    }

    public async ValueTask DisposeAsync()
    {
        RedisConnection[] idle;
        lock (_sync)
        {
            _disposed = true;
            idle = [.. _idle, .. _rented];
            _idle.Clear();
            _rented.Clear();
        }

        foreach (RedisConnection connection in idle)
        {
            await connection.DisposeAsync().ConfigureAwait(false);
        }
    }
}
