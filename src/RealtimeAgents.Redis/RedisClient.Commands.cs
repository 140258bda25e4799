using System.Buffers;
using System.Runtime.CompilerServices;
using RealtimeAgents.Redis.Internal;

namespace RealtimeAgents.Redis;

// Typed helpers for the commands this project uses. Each one writes its arguments synchronously (so span
// parameters are safe) and then maps the reply; replies are read so that both RESP2 and RESP3 shapes work
// (RESP3 sends maps where RESP2 sends flat arrays).
public sealed partial class RedisClient
{
    /// <summary>PING; completes when the server answers.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    public async ValueTask PingAsync(CancellationToken cancellationToken = default) =>
        await ExecuteAsync("PING", [], cancellationToken).ConfigureAwait(false);

    // ---- strings and keys -------------------------------------------------------------------------

    /// <summary>GET; null when the key does not exist.</summary>
    public ValueTask<string?> GetAsync(string key, CancellationToken cancellationToken = default) =>
        Map(ExecuteAsync("GET", [key], cancellationToken), static r => r.AsString());

    /// <summary>GET returning the raw bytes; null when the key does not exist.</summary>
    public ValueTask<byte[]?> GetBytesAsync(string key, CancellationToken cancellationToken = default) =>
        Map(ExecuteAsync("GET", [key], cancellationToken), static r => r.AsBytes());

    /// <summary>SET key value [PX ms] [NX]. Returns false when NX prevented the write.</summary>
    public ValueTask<bool> SetAsync(string key, RedisArg value, TimeSpan? expiry = null, bool onlyIfNotExists = false, CancellationToken cancellationToken = default)
    {
        RedisArg[] args = ArrayPool<RedisArg>.Shared.Rent(5);
        int n = 0;
        args[n++] = key;
        args[n++] = value;
        if (expiry is { } ttl)
        {
            args[n++] = "PX";
            args[n++] = (long)Math.Ceiling(ttl.TotalMilliseconds);
        }

        if (onlyIfNotExists)
        {
            args[n++] = "NX";
        }

        return Map(SendRented("SET", args, n, cancellationToken), static r => !r.IsNull);
    }

    public ValueTask<long> IncrAsync(string key, CancellationToken cancellationToken = default) =>
        Map(ExecuteAsync("INCR", [key], cancellationToken), static r => r.AsInt64());

    public ValueTask<long> IncrByAsync(string key, long increment, CancellationToken cancellationToken = default) =>
        Map(ExecuteAsync("INCRBY", [key, increment], cancellationToken), static r => r.AsInt64());

    /// <summary>DEL; returns how many keys existed.</summary>
    public ValueTask<long> DelAsync(string key, CancellationToken cancellationToken = default) =>
        Map(ExecuteAsync("DEL", [key], cancellationToken), static r => r.AsInt64());

    /// <summary>DEL of several keys; returns how many existed.</summary>
    public ValueTask<long> DelAsync(ReadOnlySpan<string> keys, CancellationToken cancellationToken = default) =>
        Map(SendKeys("DEL", keys, cancellationToken), static r => r.AsInt64());

    public ValueTask<bool> ExistsAsync(string key, CancellationToken cancellationToken = default) =>
        Map(ExecuteAsync("EXISTS", [key], cancellationToken), static r => r.AsInt64() > 0);

    /// <summary>EXISTS of several keys; returns how many exist.</summary>
    public ValueTask<long> ExistsAsync(ReadOnlySpan<string> keys, CancellationToken cancellationToken = default) =>
        Map(SendKeys("EXISTS", keys, cancellationToken), static r => r.AsInt64());

    /// <summary>EXPIRE in seconds; false when the key does not exist.</summary>
    public ValueTask<bool> ExpireAsync(string key, long seconds, CancellationToken cancellationToken = default) =>
        Map(ExecuteAsync("EXPIRE", [key, seconds], cancellationToken), static r => r.AsInt64() == 1);

    /// <summary>PEXPIRE in milliseconds; false when the key does not exist.</summary>
    public ValueTask<bool> PExpireAsync(string key, long milliseconds, CancellationToken cancellationToken = default) =>
        Map(ExecuteAsync("PEXPIRE", [key, milliseconds], cancellationToken), static r => r.AsInt64() == 1);

    /// <summary>TTL in seconds; -1 when the key has no expiry, -2 when it does not exist.</summary>
    public ValueTask<long> TtlAsync(string key, CancellationToken cancellationToken = default) =>
        Map(ExecuteAsync("TTL", [key], cancellationToken), static r => r.AsInt64());

    /// <summary>PTTL in milliseconds; -1 when the key has no expiry, -2 when it does not exist.</summary>
    public ValueTask<long> PTtlAsync(string key, CancellationToken cancellationToken = default) =>
        Map(ExecuteAsync("PTTL", [key], cancellationToken), static r => r.AsInt64());

    /// <summary>PUBLISH; returns how many subscribers (on this node) received it.</summary>
    public ValueTask<long> PublishAsync(string channel, RedisArg message, CancellationToken cancellationToken = default) =>
        Map(ExecuteAsync("PUBLISH", [channel, message], cancellationToken), static r => r.AsInt64());

    // ---- hashes ------------------------------------------------------------------------------------

    /// <summary>HSET; returns how many fields were added (not updated).</summary>
    public ValueTask<long> HSetAsync(string key, string field, RedisArg value, CancellationToken cancellationToken = default) =>
        Map(ExecuteAsync("HSET", [key, field, value], cancellationToken), static r => r.AsInt64());

    /// <summary>HSET with several fields; returns how many were added (not updated).</summary>
    public ValueTask<long> HSetAsync(string key, ReadOnlySpan<(string Name, RedisArg Value)> fields, CancellationToken cancellationToken = default)
    {
        if (fields.IsEmpty)
        {
            throw new ArgumentException("HSET needs at least one field.", nameof(fields));
        }

        RedisArg[] args = ArrayPool<RedisArg>.Shared.Rent(1 + (2 * fields.Length));
        int n = 0;
        args[n++] = key;
        foreach ((string name, RedisArg value) in fields)
        {
            args[n++] = name;
            args[n++] = value;
        }

        return Map(SendRented("HSET", args, n, cancellationToken), static r => r.AsInt64());
    }

    public ValueTask<string?> HGetAsync(string key, string field, CancellationToken cancellationToken = default) =>
        Map(ExecuteAsync("HGET", [key, field], cancellationToken), static r => r.AsString());

    /// <summary>HGETALL; empty when the key does not exist.</summary>
    public ValueTask<Dictionary<string, string>> HGetAllAsync(string key, CancellationToken cancellationToken = default) =>
        Map(ExecuteAsync("HGETALL", [key], cancellationToken), static r =>
        {
            var result = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (KeyValuePair<RedisReply, RedisReply> pair in r.AsPairs())
            {
                result[pair.Key.AsString()!] = pair.Value.AsString()!;
            }

            return result;
        });

    public ValueTask<long> HIncrByAsync(string key, string field, long increment, CancellationToken cancellationToken = default) =>
        Map(ExecuteAsync("HINCRBY", [key, field, increment], cancellationToken), static r => r.AsInt64());

    /// <summary>HDEL; returns how many fields existed.</summary>
    public ValueTask<long> HDelAsync(string key, string field, CancellationToken cancellationToken = default) =>
        Map(ExecuteAsync("HDEL", [key, field], cancellationToken), static r => r.AsInt64());

    // ---- Lua ---------------------------------------------------------------------------------------

    /// <summary>SCRIPT LOAD; returns the SHA1 the server computed (equal to <see cref="RedisScript.Sha1"/>).</summary>
    public ValueTask<string> ScriptLoadAsync(RedisScript script, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(script);
        return Map(ExecuteAsync("SCRIPT", ["LOAD", script.Text], cancellationToken), static r => r.AsString()!);
    }

    /// <summary>
    /// Runs a script by EVALSHA. If the server does not have it cached (NOSCRIPT: never loaded, restarted,
    /// SCRIPT FLUSH), sends it once with EVAL, which both runs and caches it. Safe because a NOSCRIPT
    /// error means the script did not run.
    /// </summary>
    public async ValueTask<RedisReply> EvaluateAsync(RedisScript script, IReadOnlyList<string>? keys = null, IReadOnlyList<RedisArg>? args = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(script);
        try
        {
            return await SendScript("EVALSHA", script.Sha1, keys, args, cancellationToken).ConfigureAwait(false);
        }
        catch (RedisServerException ex) when (ex.Prefix == "NOSCRIPT")
        {
            RedisLog.ScriptReloaded(_logger, script.Sha1);
            return await SendScript("EVAL", script.Text, keys, args, cancellationToken).ConfigureAwait(false);
        }
    }

    private ValueTask<RedisReply> SendScript(string command, string scriptOrSha, IReadOnlyList<string>? keys, IReadOnlyList<RedisArg>? args, CancellationToken cancellationToken)
    {
        int keyCount = keys?.Count ?? 0;
        int argCount = args?.Count ?? 0;
        RedisArg[] buffer = ArrayPool<RedisArg>.Shared.Rent(2 + keyCount + argCount);
        int n = 0;
        buffer[n++] = scriptOrSha;
        buffer[n++] = keyCount;
        for (int i = 0; i < keyCount; i++)
        {
            buffer[n++] = keys![i];
        }

        for (int i = 0; i < argCount; i++)
        {
            buffer[n++] = args![i];
        }

        return SendRented(command, buffer, n, cancellationToken);
    }

    // ---- plumbing ----------------------------------------------------------------------------------

    /// <summary>Sends a command whose arguments sit in a pooled array, and gives the array back: the
    /// command was serialized before ExecuteAsync returned.</summary>
    private ValueTask<RedisReply> SendRented(string command, RedisArg[] args, int count, CancellationToken cancellationToken)
    {
        try
        {
            return ExecuteAsync(command, args.AsSpan(0, count), cancellationToken);
        }
        finally
        {
            args.AsSpan(0, count).Clear();
            ArrayPool<RedisArg>.Shared.Return(args);
        }
    }

    private ValueTask<RedisReply> SendKeys(string command, ReadOnlySpan<string> keys, CancellationToken cancellationToken)
    {
        RedisArg[] args = ArrayPool<RedisArg>.Shared.Rent(keys.Length);
        for (int i = 0; i < keys.Length; i++)
        {
            args[i] = keys[i];
        }

        return SendRented(command, args, keys.Length, cancellationToken);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private static async ValueTask<T> Map<T>(ValueTask<RedisReply> reply, Func<RedisReply, T> map) =>
        map(await reply.ConfigureAwait(false));

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private static async ValueTask<TOut> Map<TIn, TOut>(ValueTask<TIn> value, Func<TIn, TOut> map) =>
        map(await value.ConfigureAwait(false));
}
