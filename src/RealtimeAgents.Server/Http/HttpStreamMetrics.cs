namespace RealtimeAgents.Server.Http;

/// <summary>
/// Event streams (SSE and AG-UI) open on this node. Each holds one relay subscription; the count
/// drops when the subscription has been disposed, so a leak shows here.
/// </summary>
internal sealed class HttpStreamMetrics
{
    private int _active;

    /// <summary>Streams whose relay subscription is alive.</summary>
    public int ActiveStreams => Volatile.Read(ref _active);

    internal void Opened() => Interlocked.Increment(ref _active);

    internal void Closed() => Interlocked.Decrement(ref _active);
}
