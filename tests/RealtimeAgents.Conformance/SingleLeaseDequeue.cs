// In Core's namespace so that every test taking one lease finds it beside ITaskQueue.
namespace RealtimeAgents.Core;

/// <summary>Dequeues for tests, which take one lease at a time (the worker asks for batches).</summary>
public static class SingleLeaseDequeue
{
    /// <summary>The next task for <paramref name="consumer"/>, or null when none came within <paramref name="maxWait"/>.</summary>
    public static async ValueTask<TaskLease?> DequeueAsync(this ITaskQueue queue, string consumer, TimeSpan maxWait,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(queue);
        var leases = await queue.DequeueAsync(consumer, 1, maxWait, cancellationToken).ConfigureAwait(false);
        return leases.Count > 0 ? leases[0] : null;
    }
}
