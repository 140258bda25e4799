using System.Diagnostics;
using RealtimeAgents.Redis.Internal;

namespace RealtimeAgents.Redis;

public sealed partial class RedisClient
{
    /// <summary>
    /// XREAD [COUNT n] BLOCK ms STREAMS ... on a dedicated connection: waits up to
    /// <paramref name="blockMilliseconds"/> (0 = forever) for entries after the given ids and returns them,
    /// or an empty list when the block time passed. Cancelling <paramref name="cancellationToken"/> ends the
    /// call at once (the dedicated connection is closed, which unblocks the server).
    /// </summary>
    public async ValueTask<IReadOnlyList<RedisStreamReadResult>> XReadBlockingAsync(IReadOnlyList<RedisStreamPosition> positions, int blockMilliseconds,
        int? count = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(positions);
        ArgumentOutOfRangeException.ThrowIfNegative(blockMilliseconds);
        RedisStreamPosition[] copy = [.. positions];
        RedisArg[] args = BuildRead(null, null, copy, count, blockMilliseconds, false, out int n);
        return ParseRead(await ExecuteBlockingAsync("XREAD", args, n, blockMilliseconds, cancellationToken).ConfigureAwait(false));
    }

    /// <summary>Blocking XREAD of one stream; see the overload for several.</summary>
    public async ValueTask<IReadOnlyList<RedisStreamEntry>> XReadBlockingAsync(string key, string afterId, int blockMilliseconds, int? count = null,
        CancellationToken cancellationToken = default)
    {
        IReadOnlyList<RedisStreamReadResult> results =
            await XReadBlockingAsync([new RedisStreamPosition(key, afterId)], blockMilliseconds, count, cancellationToken).ConfigureAwait(false);
        return results.Count == 0 ? [] : results[0].Entries;
    }

    /// <summary>
    /// XREADGROUP GROUP g c [COUNT n] BLOCK ms [NOACK] STREAMS key id on a dedicated connection; empty when the
    /// block time passed. Cancellation closes the dedicated connection, like <see cref="XReadBlockingAsync(IReadOnlyList{RedisStreamPosition}, int, int?, CancellationToken)"/>.
    /// Note that entries the server delivered in a reply that was lost this way stay pending for the
    /// consumer and come back through XAUTOCLAIM or a read with id 0.
    /// </summary>
    public async ValueTask<IReadOnlyList<RedisStreamEntry>> XReadGroupBlockingAsync(string group, string consumer, string key, string id = ">",
        int? count = null, int blockMilliseconds = 0, bool noAck = false, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(blockMilliseconds);
        RedisArg[] args = BuildRead(group, consumer, [new RedisStreamPosition(key, id)], count, blockMilliseconds, noAck, out int n);
        IReadOnlyList<RedisStreamReadResult> results =
            ParseRead(await ExecuteBlockingAsync("XREADGROUP", args, n, blockMilliseconds, cancellationToken).ConfigureAwait(false));
        return results.Count == 0 ? [] : results[0].Entries;
    }

    private async ValueTask<RedisReply> ExecuteBlockingAsync(string command, RedisArg[] args, int argCount, int blockMilliseconds, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        RedisConnection connection;
        try
        {
            connection = await _blockingPool.RentAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            args.AsSpan(0, argCount).Clear();
            System.Buffers.ArrayPool<RedisArg>.Shared.Return(args);
            throw;
        }

        // The server holds the reply for up to the block time; only after that does the command timeout start.
        long deadline = blockMilliseconds == 0
            ? long.MaxValue
            : Stopwatch.GetTimestamp() + RedisConnection.ToTimestamp(TimeSpan.FromMilliseconds(blockMilliseconds)) + _commandTimeout;
        bool healthy = false;
        try
        {
            bool written = connection.TryExecute(command, args.AsSpan(0, argCount), deadline, cancellationToken, out ValueTask<RedisReply> pending);
            args.AsSpan(0, argCount).Clear();
            System.Buffers.ArrayPool<RedisArg>.Shared.Return(args);
            if (!written)
            {
                throw new RedisConnectionException($"Dedicated Redis connection for {command} closed before the command was sent.");
            }

            try
            {
                RedisReply reply = await pending.ConfigureAwait(false);
                healthy = true;
                return reply;
            }
            catch (RedisServerException)
            {
                healthy = true; // an error reply leaves the connection in a clean state
                throw;
            }
        }
        finally
        {
            if (healthy)
            {
                _blockingPool.Return(connection);
            }
            else
            {
                RedisLog.BlockingCallCancelled(_logger, command);
                _blockingPool.Discard(connection);
            }
        }
    }
}
