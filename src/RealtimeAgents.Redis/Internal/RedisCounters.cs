using System.Diagnostics.Metrics;

namespace RealtimeAgents.Redis.Internal;

/// <summary>Per-client counters, mirrored to the "RealtimeAgents.Redis" meter for OpenTelemetry.</summary>
internal sealed class RedisCounters
{
    public const string MeterName = "RealtimeAgents.Redis";

    private static readonly Meter s_meter = new(MeterName);
    private static readonly Counter<long> s_commands = s_meter.CreateCounter<long>("redis.client.commands", description: "Commands written to Redis.");
    private static readonly Counter<long> s_reconnects = s_meter.CreateCounter<long>("redis.client.reconnects", description: "Connections re-established after a failure.");
    private static readonly Counter<long> s_timeouts = s_meter.CreateCounter<long>("redis.client.timeouts", description: "Commands that got no reply within the command timeout.");

    private long _commands;
    private long _reconnects;
    private long _timeouts;

    public long Commands => Interlocked.Read(ref _commands);

    public long Reconnects => Interlocked.Read(ref _reconnects);

    public long Timeouts => Interlocked.Read(ref _timeouts);

    public void CommandSent()
    {
        Interlocked.Increment(ref _commands);
        if (s_commands.Enabled)
        {
            s_commands.Add(1);
        }
    }

    public void Reconnect()
    {
        Interlocked.Increment(ref _reconnects);
        s_reconnects.Add(1);
    }

    public void Timeout()
    {
        Interlocked.Increment(ref _timeouts);
        s_timeouts.Add(1);
    }
}
