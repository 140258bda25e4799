namespace RealtimeAgents.Server.Hubs;

/// <summary>Limits of the hub endpoint (configuration section RealtimeAgents:Hub).</summary>
public sealed class HubEndpointOptions
{
    /// <summary>Bytes buffered per connection in each direction before writes wait (64 KiB).</summary>
    public long MaxBufferedBytes { get; set; } = 64 * 1024;

    /// <summary>
    /// How long one delivery may wait for room in a connection's outgoing buffer (the client does
    /// not read) before the client is disconnected, logged as SlowClientDisconnected (30 s). The
    /// clock starts when a write finds the buffer full, so a client is cut this long after it
    /// stopped reading plus the time its buffer took to fill. SignalR's own timeout for a client
    /// it hears nothing from is set to this plus 30 s, so it never cuts a stalled client first.
    /// </summary>
    public TimeSpan SlowClientTimeout { get; set; } = TimeSpan.FromSeconds(30);
}
