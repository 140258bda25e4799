using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RealtimeAgents.Core.Runtime;

namespace RealtimeAgents.Core.Observability;

/// <summary>Whether the shared stores answer. In-memory stores always do; Redis must answer a PING.</summary>
public interface IStoreHealth
{
    /// <summary>True when the store answered within the caller's deadline.</summary>
    ValueTask<bool> IsReachableAsync(CancellationToken cancellationToken);
}

/// <summary>In-memory stores live in this process: reachable while it runs.</summary>
public sealed class InProcessStoreHealth : IStoreHealth
{
    /// <inheritdoc />
    public ValueTask<bool> IsReachableAsync(CancellationToken cancellationToken) => ValueTask.FromResult(true);
}

/// <summary>
/// Asks the store every <see cref="ObservabilityOptions.StoreCheckInterval"/> and remembers the
/// answer, so /readyz is cheap, turns unready within an interval plus the ping timeout of the
/// store going away, and the log says when it went and when it came back (once each).
/// </summary>
public sealed partial class StoreHealthMonitor(IStoreHealth store, IOptions<ObservabilityOptions> options,
    ILogger<StoreHealthMonitor> logger, ITaskQueueStats? queue = null) : BackgroundService
{
    private volatile bool _reachable = true;
    private long _downSinceMs;

    /// <summary>The latest answer.</summary>
    public bool Reachable => _reachable;

    /// <summary>When the store stopped answering (unix ms), or 0.</summary>
    public long DownSinceMs => Interlocked.Read(ref _downSinceMs);

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var interval = options.Value.StoreCheckInterval;
        while (!stoppingToken.IsCancellationRequested)
        {
            bool ok;
            using (var deadline = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken))
            {
                deadline.CancelAfter(options.Value.StoreCheckTimeout);
                try
                {
                    ok = await store.IsReachableAsync(deadline.Token).ConfigureAwait(false);
                    // The queue gauges ride on the same tick (and stop reporting while the store is gone).
                    RealtimeAgentsTelemetry.SetQueueStats(ok && queue is not null
                        ? await queue.GetStatsAsync(deadline.Token).ConfigureAwait(false) : null);
                }
                catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested) { return; }
                catch (Exception)
                {
                    ok = false;
                    RealtimeAgentsTelemetry.SetQueueStats(null);
                }
            }
            if (ok != _reachable)
            {
                // The log first, then /readyz: whoever sees the new answer finds the line that explains it.
                if (ok)
                {
                    LogReachable(logger, (DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - DownSinceMs) / 1000.0);
                    Interlocked.Exchange(ref _downSinceMs, 0);
                }
                else
                {
                    Interlocked.Exchange(ref _downSinceMs, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
                    LogUnreachable(logger);
                }
                _reachable = ok;
            }
            try { await Task.Delay(interval, stoppingToken).ConfigureAwait(false); }
            catch (OperationCanceledException) { return; }
        }
    }

    [LoggerMessage(EventId = 60, EventName = "StoreUnreachable", Level = LogLevel.Error,
        Message = "The task store (Redis) stopped answering; /readyz reports unready until it does.")]
    private static partial void LogUnreachable(ILogger logger);

    [LoggerMessage(EventId = 61, EventName = "StoreReachable", Level = LogLevel.Information,
        Message = "The task store (Redis) answers again after {DownSeconds:F1} s; ready.")]
    private static partial void LogReachable(ILogger logger, double downSeconds);
}

/// <summary>/readyz: the store answers.</summary>
internal sealed class StoreHealthCheck(StoreHealthMonitor monitor) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(monitor.Reachable
            ? HealthCheckResult.Healthy("the task store answers")
            : HealthCheckResult.Unhealthy($"the task store has not answered since {DateTimeOffset.FromUnixTimeMilliseconds(monitor.DownSinceMs):O}"));
}

/// <summary>/readyz: this process's worker loop (when it has one) is running.</summary>
internal sealed class WorkerPoolHealthCheck(IServiceProvider services) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (services.GetService(typeof(AgentWorker)) is not AgentWorker worker)
        {
            return Task.FromResult(HealthCheckResult.Healthy("no worker in this process; agents run in worker processes"));
        }
        return Task.FromResult(worker.ExecuteTask is { IsCompleted: false }
            ? HealthCheckResult.Healthy("the worker loop runs")
            : HealthCheckResult.Unhealthy("the worker loop is not running"));
    }
}
