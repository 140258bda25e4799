using System.Security.Cryptography;
using System.Text;
using StackExchange.Redis;

namespace RealtimeAgents.Core.Redis;

/// <summary>The Lua scripts, loaded from the .lua files embedded next to this class.</summary>
internal static class RedisScripts
{
    public static readonly RedisScript AppendEvent = Load("append_event.lua");
    public static readonly RedisScript StreamInfo = Load("stream_info.lua");
    public static readonly RedisScript SendControl = Load("send_control.lua");
    public static readonly RedisScript ReserveTask = Load("reserve_task.lua");
    public static readonly RedisScript AddToThread = Load("add_to_thread.lua");
    public static readonly RedisScript UpdateTask = Load("update_task.lua");
    public static readonly RedisScript RenewLease = Load("renew_lease.lua");
    public static readonly RedisScript Enqueue = Load("enqueue.lua");

    private static RedisScript Load(string name)
    {
        var assembly = typeof(RedisScripts).Assembly;
        using var stream = assembly.GetManifestResourceStream($"RealtimeAgents.Core.Redis.Lua.{name}")
            ?? throw new InvalidOperationException($"embedded script {name} is missing");
        using var reader = new StreamReader(stream);
        return new RedisScript(reader.ReadToEnd());
    }
}

/// <summary>
/// A Lua script run by its SHA1 (EVALSHA). StackExchange.Redis can do that from the text alone,
/// but then it looks the text up in its script cache on every call, hashing the whole script
/// each time: on the append script, once per token, that was 2.6 % of a worker's CPU. The text
/// is sent only when a server answers NOSCRIPT (restarted, failed over, SCRIPT FLUSH); the
/// multiplexer's text path then loads it there and later calls find it by hash again.
/// </summary>
internal sealed class RedisScript(string text)
{
    /// <summary>The script's source.</summary>
    public string Text { get; } = text;

    /// <summary>Its SHA1, the name EVALSHA knows it by.</summary>
    public byte[] Hash { get; } = SHA1.HashData(Encoding.UTF8.GetBytes(text));

    /// <summary>Runs the script on the server that owns <paramref name="keys"/>' slot.</summary>
    public async Task<RedisResult> EvaluateAsync(IDatabaseAsync db, RedisKey[] keys, RedisValue[]? args = null)
    {
        try
        {
            return await db.ScriptEvaluateAsync(Hash, keys, args).ConfigureAwait(false);
        }
        catch (RedisServerException ex) when (ex.Message.StartsWith("NOSCRIPT", StringComparison.Ordinal))
        {
            return await db.ScriptEvaluateAsync(Text, keys, args).ConfigureAwait(false);
        }
    }
}
