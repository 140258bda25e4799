using Microsoft.Extensions.Logging;

namespace RealtimeAgents.Core.Runtime;

/// <summary>
/// Renews a task's lease every interval while its agent runs, so the queue does not hand the task
/// to another worker; a failed renewal is logged and tried again at the next beat. Disposing stops it.
/// </summary>
internal sealed class LeaseHeartbeat : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _beats;

    private LeaseHeartbeat(ITaskQueue queue, TaskLease lease, TimeSpan interval, ILogger logger) =>
        _beats = BeatAsync(queue, lease, interval, logger, _stop.Token);

    /// <summary>Starts renewing; the first renewal is one interval from now.</summary>
    public static LeaseHeartbeat Start(ITaskQueue queue, TaskLease lease, TimeSpan interval, ILogger logger) =>
        new(queue, lease, interval, logger);

    private static async Task BeatAsync(ITaskQueue queue, TaskLease lease, TimeSpan interval, ILogger logger, CancellationToken ct)
    {
        try
        {
            while (true)
            {
                await Task.Delay(interval, ct).ConfigureAwait(false);
                try { await queue.RenewAsync(lease, ct).ConfigureAwait(false); }
                catch (Exception ex) when (ex is not OperationCanceledException) { WorkerLog.HeartbeatFailed(logger, ex, lease.TaskId); }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>Stops renewing and waits for a renewal in flight.</summary>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _beats.ConfigureAwait(false);
        _stop.Dispose();
    }
}
