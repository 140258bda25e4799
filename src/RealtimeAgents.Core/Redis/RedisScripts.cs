using System.Reflection;

namespace RealtimeAgents.Core.Redis;

/// <summary>
/// The Lua scripts, loaded from the .lua files embedded next to this class. StackExchange.Redis
/// sends a script's SHA (EVALSHA) once the server has it, and the text again after a NOSCRIPT.
/// </summary>
internal static class RedisScripts
{
    public static readonly string AppendEvent = Load("append_event.lua");
    public static readonly string StreamInfo = Load("stream_info.lua");
    public static readonly string SendControl = Load("send_control.lua");
    public static readonly string ReserveTask = Load("reserve_task.lua");
    public static readonly string AddToThread = Load("add_to_thread.lua");
    public static readonly string UpdateTask = Load("update_task.lua");
    public static readonly string RenewLease = Load("renew_lease.lua");
    public static readonly string Enqueue = Load("enqueue.lua");

    private static string Load(string name)
    {
        var assembly = typeof(RedisScripts).Assembly;
        using var stream = assembly.GetManifestResourceStream($"RealtimeAgents.Core.Redis.Lua.{name}")
            ?? throw new InvalidOperationException($"embedded script {name} is missing");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
