using RealtimeAgents.Core;
using RealtimeAgents.Testing;
using Xunit;

namespace RealtimeAgents.Conformance;

/// <summary>What every <see cref="ITaskQueue"/> must do. Each call of the factory is a separate, empty queue.</summary>
public abstract class TaskQueueConformance
{
    protected abstract Task<ITaskQueue> CreateQueueAsync(TaskQueueOptions options);

    private static readonly TimeSpan Short = TimeSpan.FromMilliseconds(200);

    [Fact]
    public async Task Dequeue_ReturnsTasksInEnqueueOrder_AsFirstAttempts()
    {
        var queue = await CreateQueueAsync(new TaskQueueOptions());
        foreach (var id in new[] { "a", "b", "c" }) await queue.EnqueueAsync(id).AsTask().DefaultTimeout();
        var leases = new List<TaskLease>();
        for (int i = 0; i < 3; i++) leases.Add((await queue.DequeueAsync("w1", Short).AsTask().DefaultTimeout())!);
        Assert.Equal(["a", "b", "c"], leases.Select(l => l.TaskId));
        Assert.All(leases, l => Assert.Equal(1, l.Attempt));
        Assert.All(leases, l => Assert.Equal("w1", l.Consumer));
        Assert.Equal(3, leases.Select(l => l.LeaseId).Distinct().Count());
    }

    [Fact]
    public async Task BatchDequeue_TakesAtMostMax_InEnqueueOrder_AndTheRestStaysQueued()
    {
        var queue = await CreateQueueAsync(new TaskQueueOptions());
        foreach (var id in new[] { "a", "b", "c", "d", "e" }) await queue.EnqueueAsync(id).AsTask().DefaultTimeout();
        var batch = await queue.DequeueAsync("w1", 3, Short).AsTask().DefaultTimeout();
        Assert.Equal(["a", "b", "c"], batch.Select(l => l.TaskId));
        Assert.All(batch, l => Assert.Equal(1, l.Attempt));
        var rest = await queue.DequeueAsync("w2", 10, Short).AsTask().DefaultTimeout();
        Assert.Equal(["d", "e"], rest.Select(l => l.TaskId));
        Assert.Empty(await queue.DequeueAsync("w3", 10, Short).AsTask().DefaultTimeout());
    }

    // "old" was leased by a worker that died (its lease has expired); "new" waits in the queue.
    private async Task<ITaskQueue> ExpiredLeaseAndNewEntryAsync(TimeSpan visibility)
    {
        var queue = await CreateQueueAsync(new TaskQueueOptions { VisibilityTimeout = visibility });
        await queue.EnqueueAsync("old").AsTask().DefaultTimeout();
        Assert.Equal("old", (await queue.DequeueAsync("dies", Short).AsTask().DefaultTimeout())?.TaskId);
        await queue.EnqueueAsync("new").AsTask().DefaultTimeout();
        await Task.Delay(visibility + TimeSpan.FromMilliseconds(300));
        return queue;
    }

    [Fact]
    public async Task BatchDequeue_ReclaimsExpiredLeasesBeforeNewEntries()
    {
        var queue = await ExpiredLeaseAndNewEntryAsync(TimeSpan.FromMilliseconds(300));
        var batch = await queue.DequeueAsync("survivor", 5, Short).AsTask().DefaultTimeout();
        Assert.Equal(["old", "new"], batch.Select(l => l.TaskId));
        Assert.Equal([2, 1], batch.Select(l => l.Attempt));
    }

    [Fact]
    public async Task SingleDequeue_WithAnExpiredLeaseAndANewEntry_HandsOutBoth_OneAtATime()
    {
        // A visibility long enough that the reclaimed lease cannot expire again between the two dequeues.
        var queue = await ExpiredLeaseAndNewEntryAsync(TimeSpan.FromSeconds(1));
        var first = await queue.DequeueAsync("survivor", 1, Short).AsTask().DefaultTimeout();
        Assert.Equal(["old"], first.Select(l => l.TaskId));
        // The new entry is not lost behind the reclaimed one: the next dequeue has it.
        var second = await queue.DequeueAsync("survivor", 1, Short).AsTask().DefaultTimeout();
        Assert.Equal(["new"], second.Select(l => l.TaskId));
    }

    [Fact]
    public async Task BatchDequeue_WithMaxBelowOne_IsRefused()
    {
        var queue = await CreateQueueAsync(new TaskQueueOptions());
        await queue.EnqueueAsync("a").AsTask().DefaultTimeout();
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => queue.DequeueAsync("w1", 0, Short).AsTask()).DefaultTimeout();
        Assert.Equal("a", (await queue.DequeueAsync("w1", Short).AsTask().DefaultTimeout())?.TaskId);
    }

    [Fact]
    public async Task Dequeue_OnEmptyQueue_ReturnsNullAfterWaiting()
    {
        var queue = await CreateQueueAsync(new TaskQueueOptions());
        Assert.Null(await queue.DequeueAsync("w1", Short).AsTask().DefaultTimeout());
    }

    [Fact]
    public async Task WaitingDequeue_TakesATaskEnqueuedMeanwhile()
    {
        var queue = await CreateQueueAsync(new TaskQueueOptions());
        var waiting = queue.DequeueAsync("w1", TimeSpan.FromSeconds(8)).AsTask();
        await Task.Delay(100);
        await queue.EnqueueAsync("late").AsTask().DefaultTimeout();
        var lease = await waiting.DefaultTimeout();
        Assert.Equal("late", lease?.TaskId);
    }

    [Fact]
    public async Task LeaseNotRenewed_IsReclaimedByAnotherWorker_AsTheNextAttempt()
    {
        var queue = await CreateQueueAsync(new TaskQueueOptions { VisibilityTimeout = TimeSpan.FromMilliseconds(300) });
        await queue.EnqueueAsync("job").AsTask().DefaultTimeout();
        var first = await queue.DequeueAsync("dies", Short).AsTask().DefaultTimeout();
        Assert.Equal(1, first?.Attempt);
        TaskLease? second = null;
        var deadline = DateTime.UtcNow.AddSeconds(8);
        while (second is null && DateTime.UtcNow < deadline)
        {
            second = await queue.DequeueAsync("survivor", TimeSpan.FromMilliseconds(500)).AsTask().DefaultTimeout();
        }
        Assert.NotNull(second);
        Assert.Equal("job", second.TaskId);
        Assert.Equal(2, second.Attempt);
        Assert.Equal("survivor", second.Consumer);
    }

    [Fact]
    public async Task RenewedLease_IsNotReclaimed()
    {
        // Renewed every 150 ms for 2.4 s against a 2 s timeout, so an unrenewed lease would be taken
        // before the loop ends, while a stall of up to 1.8 s on a loaded machine is not a failure.
        var queue = await CreateQueueAsync(new TaskQueueOptions { VisibilityTimeout = TimeSpan.FromSeconds(2) });
        await queue.EnqueueAsync("job").AsTask().DefaultTimeout();
        var lease = (await queue.DequeueAsync("alive", Short).AsTask().DefaultTimeout())!;
        for (int i = 0; i < 16; i++)
        {
            await Task.Delay(150);
            await queue.RenewAsync(lease).AsTask().DefaultTimeout();
            Assert.Null(await queue.DequeueAsync("thief", TimeSpan.FromMilliseconds(10)).AsTask().DefaultTimeout());
        }
    }

    [Fact]
    public async Task CompletedLease_IsNeverHandedOutAgain()
    {
        var queue = await CreateQueueAsync(new TaskQueueOptions { VisibilityTimeout = TimeSpan.FromMilliseconds(200) });
        await queue.EnqueueAsync("job").AsTask().DefaultTimeout();
        var lease = (await queue.DequeueAsync("w1", Short).AsTask().DefaultTimeout())!;
        await queue.CompleteAsync(lease).AsTask().DefaultTimeout();
        await Task.Delay(400);
        Assert.Null(await queue.DequeueAsync("w2", TimeSpan.FromMilliseconds(300)).AsTask().DefaultTimeout());
    }

    [Fact]
    public async Task ReleasedLease_GoesToTheNextWorkerAtOnce()
    {
        var queue = await CreateQueueAsync(new TaskQueueOptions { VisibilityTimeout = TimeSpan.FromMinutes(5) });
        await queue.EnqueueAsync("job").AsTask().DefaultTimeout();
        var lease = (await queue.DequeueAsync("stopping", Short).AsTask().DefaultTimeout())!;
        await queue.ReleaseAsync(lease).AsTask().DefaultTimeout();
        var next = await queue.DequeueAsync("other", TimeSpan.FromSeconds(2)).AsTask().DefaultTimeout();
        Assert.Equal("job", next?.TaskId);
        Assert.True(next!.Attempt >= 2, "a handed-back task runs again as a new attempt");
    }

    [Fact]
    public async Task ManyWorkers_EachTaskGoesToExactlyOne()
    {
        var queue = await CreateQueueAsync(new TaskQueueOptions());
        var ids = Enumerable.Range(0, 200).Select(i => $"t{i}").ToList();
        foreach (var id in ids) await queue.EnqueueAsync(id).AsTask().DefaultTimeout();
        var taken = await Task.WhenAll(Enumerable.Range(0, 4).Select(w => Task.Run(async () =>
        {
            var mine = new List<string>();
            while (await queue.DequeueAsync($"w{w}", TimeSpan.FromMilliseconds(200)) is { } lease)
            {
                mine.Add(lease.TaskId);
                await queue.CompleteAsync(lease);
            }
            return mine;
        }))).DefaultTimeout(30_000);
        var all = taken.SelectMany(t => t).ToList();
        Assert.Equal(ids.Order(), all.Order());
    }
}
