namespace RealtimeAgents.Server.Auth;

/// <summary>Per-caller limits of the transports (configuration section RealtimeAgents:Limits).</summary>
public sealed class LimitOptions
{
    /// <summary>Tasks one user may submit per minute, over the hub, REST and AG-UI together, per hub node (60; 0 = no limit).</summary>
    public int SubmitsPerMinute { get; set; } = 60;

    /// <summary>Task subscriptions one hub connection may hold at once (100).</summary>
    public int MaxSubscriptionsPerConnection { get; set; } = 100;

    /// <summary>Event streams (SSE and AG-UI) one user may hold open at once, per hub node (20; 0 = no limit).</summary>
    public int MaxEventStreamsPerUser { get; set; } = 20;
}
