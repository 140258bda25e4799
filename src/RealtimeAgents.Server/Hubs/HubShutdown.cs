using Microsoft.AspNetCore.SignalR.Protocol;

namespace RealtimeAgents.Server.Hubs;

/// <summary>
/// Graceful shutdown of the hub. Kestrel waits for open connections before it stops, and a
/// SignalR WebSocket never ends by itself: with a browser tab open, Ctrl-C or SIGTERM used to wait
/// for the whole host shutdown timeout (30 s). As the host starts stopping, every connection on
/// this node is told the server is going away, with a SignalR close message that allows
/// reconnecting, and is then closed. The official clients (and so both SDKs and the web UI)
/// reconnect at once, to another node behind the balancer or to this one once it is back, and
/// resume each subscription from its cursor.
/// </summary>
internal sealed partial class HubShutdown(LocalConnections<AgentHub> local, ILogger<HubShutdown> logger) : IHostedLifecycleService, IDisposable
{
    /// <summary>The text clients see as the close reason.</summary>
    public const string Reason = "going_away: the server is shutting down; reconnect and resume.";

    /// <summary>How long the goodbye may take before the connections are closed regardless.</summary>
    internal static readonly TimeSpan Budget = TimeSpan.FromSeconds(1);

    private readonly CancellationTokenSource _stopped = new();
    private Task _sweeping = Task.CompletedTask;

    /// <summary>
    /// Closes every connection now, then keeps closing the ones that arrive until the host has
    /// stopped: a client told to reconnect may reach this node again before Kestrel stops
    /// accepting, and that new connection would hold the shutdown up as the first one did.
    /// </summary>
    public async Task StoppingAsync(CancellationToken cancellationToken)
    {
        int count = await CloseAllAsync(local, cancellationToken).ConfigureAwait(false);
        if (count > 0) LogClosing(logger, count);
        _sweeping = SweepAsync();
    }

    public async Task StoppedAsync(CancellationToken cancellationToken)
    {
        await _stopped.CancelAsync().ConfigureAwait(false);
        await _sweeping.ConfigureAwait(false);
    }

    private async Task SweepAsync()
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(50));
        try
        {
            while (await timer.WaitForNextTickAsync(_stopped.Token).ConfigureAwait(false))
            {
                await CloseAllAsync(local, _stopped.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private static async Task<int> CloseAllAsync(LocalConnections<AgentHub> local, CancellationToken cancellationToken)
    {
        var connections = local.Snapshot;
        if (connections.Count == 0) return 0;
        var close = new CloseMessage(Reason, allowReconnect: true);
        using var budget = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        budget.CancelAfter(Budget);
        await Task.WhenAll(connections.Select(async connection =>
        {
            try
            {
                await connection.WriteAsync(close, budget.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or IOException or InvalidOperationException)
            {
                // A connection that cannot take the message now is closed all the same.
            }
            finally
            {
                connection.Abort();
            }
        })).ConfigureAwait(false);
        return connections.Count;
    }

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public void Dispose() => _stopped.Dispose();

    [LoggerMessage(EventId = 31, EventName = "HubShuttingDown", Level = LogLevel.Information,
        Message = "Shutting down: telling {Count} connected clients to reconnect elsewhere, then closing them.")]
    private static partial void LogClosing(ILogger logger, int count);
}
