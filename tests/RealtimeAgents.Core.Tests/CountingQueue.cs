namespace RealtimeAgents.Core.Tests;

/// <summary>
/// A queue that counts what a worker does with it: lease renewals, leases handed out, the largest
/// batch, and the most leases held (handed out, not yet completed or released) at once.
/// </summary>
internal sealed class CountingQueue(ITaskQueue inner) : ITaskQueue
{
    private readonly object _gate = new();
    private int _renewals;
    private int _held;

    public int Renewals => Volatile.Read(ref _renewals);
    public int Dequeued { get; private set; }
    public int LargestBatch { get; private set; }
    public int MostHeld { get; private set; }

    public ValueTask EnqueueAsync(string taskId, CancellationToken cancellationToken = default) => inner.EnqueueAsync(taskId, cancellationToken);

    public async ValueTask<IReadOnlyList<TaskLease>> DequeueAsync(string consumer, int max, TimeSpan maxWait, CancellationToken cancellationToken = default)
    {
        var leases = await inner.DequeueAsync(consumer, max, maxWait, cancellationToken);
        lock (_gate)
        {
            Dequeued += leases.Count;
            LargestBatch = Math.Max(LargestBatch, leases.Count);
            _held += leases.Count;
            MostHeld = Math.Max(MostHeld, _held);
        }
        return leases;
    }

    public ValueTask RenewAsync(TaskLease lease, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref _renewals);
        return inner.RenewAsync(lease, cancellationToken);
    }

    public ValueTask CompleteAsync(TaskLease lease, CancellationToken cancellationToken = default)
    {
        lock (_gate) _held--;
        return inner.CompleteAsync(lease, cancellationToken);
    }

    public ValueTask ReleaseAsync(TaskLease lease, CancellationToken cancellationToken = default)
    {
        lock (_gate) _held--;
        return inner.ReleaseAsync(lease, cancellationToken);
    }
}
