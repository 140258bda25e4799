using System.Reflection;
using RealtimeAgents.Redis;

namespace RealtimeAgents.Core.Redis;

/// <summary>The Lua scripts, loaded from the .lua files embedded next to this class.</summary>
internal static class RedisScripts
{
    public static readonly RedisScript AppendEvent = Load("append_event.lua");
    public static readonly RedisScript StreamInfo = Load("stream_info.lua");
    public static readonly RedisScript SendControl = Load("send_control.lua");
    public static readonly RedisScript CreateTask = Load("create_task.lua");
    public static readonly RedisScript UpdateTask = Load("update_task.lua");
    public static readonly RedisScript RenewLease = Load("renew_lease.lua");

    private static RedisScript Load(string name)
    {
        var assembly = typeof(RedisScripts).Assembly;
        using var stream = assembly.GetManifestResourceStream($"RealtimeAgents.Core.Redis.Lua.{name}")
            ?? throw new InvalidOperationException($"embedded script {name} is missing");
        using var reader = new StreamReader(stream);
        return new RedisScript(reader.ReadToEnd());
    }
}
