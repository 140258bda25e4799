using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using RealtimeAgents.Contracts;
using RealtimeAgents.Core.InMemory;
using RealtimeAgents.Testing;
using Xunit;

namespace RealtimeAgents.Core.Tests;

public sealed class LeaseHeartbeatTests
{
    [Fact]
    public async Task AnAttemptFencedOutByItsRetry_StopsRenewingItsLease()
    {
        var queue = new RenewCountingQueue(new InMemoryTaskQueue(Options.Create(new TaskQueueOptions { VisibilityTimeout = TimeSpan.FromSeconds(1) })));
        await using var kit = new RuntimeKit(s => s.AddSingleton<ITaskQueue>(queue));
        var submitted = await kit.Tasks.SubmitAsync(Caller.User("alice"), new SubmitTaskRequest { Agent = "endless", Input = "x" }).DefaultTimeout();
        var lease = (await queue.DequeueAsync("slow-worker", TimeSpan.FromSeconds(1)).AsTask().DefaultTimeout())!;
        var run = kit.CreateWorker().RunLeaseAsync(lease);
        // The heartbeat renews every third of the visibility timeout while the agent writes tokens.
        await WaitUntilAsync(() => queue.Renewals >= 1);

        // A retry (attempt 2) took the task over: the next token of attempt 1 is refused, and its run ends.
        var status = JsonSerializer.SerializeToElement(new StatusData(StatusPhases.Running), ContractsJsonContext.Default.StatusData);
        await kit.Get<IEventLog>().AppendAsync(submitted.TaskId, submitted.ThreadId, EventKinds.Status, status, 1, lease.Attempt + 1)
            .AsTask().DefaultTimeout();
        await run.DefaultTimeout();

        int renewals = queue.Renewals;
        await Task.Delay(TimeSpan.FromSeconds(1)); // three heartbeat intervals
        Assert.Equal(renewals, queue.Renewals);
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "timed out waiting");
            await Task.Delay(20);
        }
    }
}

/// <summary>Counts lease renewals.</summary>
internal sealed class RenewCountingQueue(ITaskQueue inner) : ITaskQueue
{
    private int _renewals;

    public int Renewals => Volatile.Read(ref _renewals);

    public ValueTask EnqueueAsync(string taskId, CancellationToken cancellationToken = default) => inner.EnqueueAsync(taskId, cancellationToken);

    public ValueTask<IReadOnlyList<TaskLease>> DequeueAsync(string consumer, int max, TimeSpan maxWait, CancellationToken cancellationToken = default) =>
        inner.DequeueAsync(consumer, max, maxWait, cancellationToken);

    public ValueTask RenewAsync(TaskLease lease, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref _renewals);
        return inner.RenewAsync(lease, cancellationToken);
    }

    public ValueTask CompleteAsync(TaskLease lease, CancellationToken cancellationToken = default) => inner.CompleteAsync(lease, cancellationToken);

    public ValueTask ReleaseAsync(TaskLease lease, CancellationToken cancellationToken = default) => inner.ReleaseAsync(lease, cancellationToken);
}

/// <summary>Counts the leases handed out, the largest batch and the most held (handed out, not yet completed or released) at once.</summary>
internal sealed class LeaseCountingQueue(ITaskQueue inner) : ITaskQueue
{
    private readonly object _gate = new();
    private int _held;

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

    public ValueTask RenewAsync(TaskLease lease, CancellationToken cancellationToken = default) => inner.RenewAsync(lease, cancellationToken);

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
