using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using RealtimeAgents.Contracts;
using RealtimeAgents.Core.InMemory;
using RealtimeAgents.Testing;
using Xunit;

namespace RealtimeAgents.Core.Tests;

/// <summary>A thread is read with one call for its tasks, however many tasks it has.</summary>
public sealed class ThreadReadTests
{
    private const int ThreadLength = 50;
    private static readonly Caller Owner = Caller.User("alice");

    [Fact]
    public async Task SendMessage_InAThreadOf50EndedTasks_ReadsTheThreadOnce_AndItsTasksInOneCall()
    {
        var (kit, store, threadId) = await ThreadOf50Async();
        await using (kit)
        {
            store.Reset();
            var sent = await kit.Threads.SendMessageAsync(Owner, threadId, "and one more", MessagePolicies.Enqueue).DefaultTimeout();
            Assert.Equal("started", sent.Outcome);
            Assert.Equal((ThreadReads: 1, TaskReads: 1), (store.ThreadReads, store.TaskReads));
        }
    }

    [Fact]
    public async Task GetThread_OfAThreadOf50Tasks_ReadsTheThreadOnce_AndItsTasksInOneCall()
    {
        var (kit, store, threadId) = await ThreadOf50Async();
        await using (kit)
        {
            store.Reset();
            var thread = await kit.Threads.GetThreadAsync(Owner, threadId).DefaultTimeout();
            Assert.Equal(ThreadLength, thread.Tasks.Count);
            Assert.Equal((ThreadReads: 1, TaskReads: 1), (store.ThreadReads, store.TaskReads));
        }
    }

    [Fact]
    public async Task WhenATaskEnds_InAThreadOf50_TheWaitingTaskIsQueued_AfterOneThreadReadAndOneCallForItsTasks()
    {
        var (kit, store, threadId) = await ThreadOf50Async();
        await using (kit)
        {
            var waiting = new TaskRecord
            {
                TaskId = Ids.NewTaskId(), ThreadId = threadId, Owner = Owner.UserId, Agent = "demo", Input = "after the others",
                Status = TaskStates.Pending,
            };
            await store.CreateAsync(waiting).AsTask().DefaultTimeout();
            store.Reset();
            await kit.Get<IThreadScheduler>().TaskEndedAsync(threadId).DefaultTimeout();
            Assert.Equal((ThreadReads: 1, TaskReads: 1), (store.ThreadReads, store.TaskReads));
            Assert.Equal(TaskStates.Queued, (await store.GetAsync(waiting.TaskId).AsTask().DefaultTimeout())!.Status);
        }
    }

    // A kit whose task store counts reads, and a thread of 50 ended tasks of Owner in it.
    private static async Task<(RuntimeKit Kit, CountingTaskStore Store, string ThreadId)> ThreadOf50Async()
    {
        var store = new CountingTaskStore(new InMemoryTaskStore(Options.Create(new EventLogOptions())));
        var kit = new RuntimeKit(s => s.AddSingleton<ITaskStore>(store));
        string threadId = Ids.NewThreadId();
        for (int i = 0; i < ThreadLength; i++)
        {
            await store.CreateAsync(new TaskRecord
            {
                TaskId = Ids.NewTaskId(), ThreadId = threadId, Owner = Owner.UserId, Agent = "demo", Input = $"question {i}",
                Status = TaskStates.Completed, CreatedAt = 1_700_000_000_000 + i, EndedAt = 1_700_000_000_000 + i,
            }).AsTask().DefaultTimeout();
        }
        return (kit, store, threadId);
    }
}

/// <summary>Counts the reads that go through to the store.</summary>
internal sealed class CountingTaskStore(ITaskStore inner) : ITaskStore
{
    private int _threadReads, _taskReads;

    /// <summary>Calls of GetThreadAsync.</summary>
    public int ThreadReads => Volatile.Read(ref _threadReads);

    /// <summary>Calls that read task records (one per call, whatever the number of records).</summary>
    public int TaskReads => Volatile.Read(ref _taskReads);

    public void Reset()
    {
        Volatile.Write(ref _threadReads, 0);
        Volatile.Write(ref _taskReads, 0);
    }

    public ValueTask<TaskCreation> CreateAsync(TaskRecord task, OwnerLimits limits = default, CancellationToken cancellationToken = default) =>
        inner.CreateAsync(task, limits, cancellationToken);

    public ValueTask<TaskRecord?> GetAsync(string taskId, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref _taskReads);
        return inner.GetAsync(taskId, cancellationToken);
    }

    public ValueTask<IReadOnlyList<TaskRecord>> GetManyAsync(IReadOnlyList<string> taskIds, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref _taskReads);
        return inner.GetManyAsync(taskIds, cancellationToken);
    }

    public ValueTask<TaskRecord?> UpdateAsync(string taskId, TaskUpdate update, CancellationToken cancellationToken = default) =>
        inner.UpdateAsync(taskId, update, cancellationToken);

    public ValueTask<ThreadRecord?> GetThreadAsync(string threadId, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref _threadReads);
        return inner.GetThreadAsync(threadId, cancellationToken);
    }
}
