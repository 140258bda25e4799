using RealtimeAgents.Contracts;
using RealtimeAgents.Core;
using RealtimeAgents.Testing;
using Xunit;

namespace RealtimeAgents.Conformance;

/// <summary>What every <see cref="ITaskStore"/> must do. Ids are unique per test.</summary>
public abstract class TaskStoreConformance
{
    protected abstract Task<ITaskStore> CreateStoreAsync();

    private static TaskRecord NewTask(string thread, string owner = "alice", string? key = null) => new()
    {
        TaskId = "t" + Guid.NewGuid().ToString("N"),
        ThreadId = thread,
        Owner = owner,
        Agent = "demo",
        Input = "plan a trip to Oslo",
        OptionsJson = """{"tokens":3}""",
        Status = TaskStates.Queued,
        CreatedAt = 1_700_000_000_000,
        IdempotencyKey = key,
    };

    private static string NewThread() => "th" + Guid.NewGuid().ToString("N");

    [Fact]
    public async Task CreatedTask_ReadsBackField_ForField()
    {
        var store = await CreateStoreAsync();
        var task = NewTask(NewThread());
        var creation = await store.CreateAsync(task).AsTask().DefaultTimeout();
        Assert.True(creation.Created);
        Assert.Equal(task, await store.GetAsync(task.TaskId).AsTask().DefaultTimeout());
    }

    [Fact]
    public async Task GetMany_ReadsTheTasksOfAThread_InTheOrderAsked_LeavingOutUnknownIds()
    {
        var store = await CreateStoreAsync();
        string thread = NewThread();
        var tasks = new List<TaskRecord>();
        // Enough tasks that, on a cluster, their hashes land on every node.
        for (int i = 0; i < 12; i++)
        {
            var task = NewTask(thread) with { Input = $"question {i}" };
            await store.CreateAsync(task).AsTask().DefaultTimeout();
            tasks.Add(task);
        }
        await store.UpdateAsync(tasks[3].TaskId, new TaskUpdate(Status: TaskStates.Completed, EndedAt: 5)).AsTask().DefaultTimeout();
        tasks[3] = tasks[3] with { Status = TaskStates.Completed, EndedAt = 5 };

        var ids = (await store.GetThreadAsync(thread).AsTask().DefaultTimeout())!.TaskIds;
        Assert.Equal(tasks, await store.GetManyAsync(ids).AsTask().DefaultTimeout());
        string unknown = "t" + Guid.NewGuid().ToString("N");
        Assert.Equal([tasks[11], tasks[0]], await store.GetManyAsync([unknown, tasks[11].TaskId, unknown, tasks[0].TaskId]).AsTask().DefaultTimeout());
        Assert.Empty(await store.GetManyAsync([unknown]).AsTask().DefaultTimeout());
        Assert.Empty(await store.GetManyAsync([]).AsTask().DefaultTimeout());
    }

    [Fact]
    public async Task TaskShares_ReadBackInOrder()
    {
        var store = await CreateStoreAsync();
        var task = NewTask(NewThread()) with
        {
            Shares = new TaskShares([new TaskShare("team-ö 1", ShareAccess.Read), new TaskShare("ops:{x}", ShareAccess.Steer)]),
        };
        await store.CreateAsync(task).AsTask().DefaultTimeout();
        var read = await store.GetAsync(task.TaskId).AsTask().DefaultTimeout();
        Assert.Equal(task, read);
        Assert.Equal(ShareAccess.Steer, read!.Shares[1].Access);
        var updated = await store.UpdateAsync(task.TaskId, new TaskUpdate(Status: TaskStates.Running)).AsTask().DefaultTimeout();
        Assert.Equal(task.Shares, updated!.Shares);
        // The thread carries its latest task's shares.
        Assert.Equal(task.Shares, (await store.GetThreadAsync(task.ThreadId).AsTask().DefaultTimeout())!.Shares);
        var unshared = NewTask(task.ThreadId);
        await store.CreateAsync(unshared).AsTask().DefaultTimeout();
        Assert.Equal(TaskShares.None, (await store.GetThreadAsync(task.ThreadId).AsTask().DefaultTimeout())!.Shares);
    }

    [Fact]
    public async Task AnOwnerAtTheActiveTaskLimit_IsRefused_UntilOneOfTheirTasksEnds_AndOthersAreNot()
    {
        var store = await CreateStoreAsync();
        string owner = "u" + Guid.NewGuid().ToString("N"), other = "u" + Guid.NewGuid().ToString("N");
        var limits = new OwnerLimits(MaxActiveTasks: 2, MaxThreads: 0);
        var first = NewTask(NewThread(), owner);
        Assert.True((await store.CreateAsync(first, limits).AsTask().DefaultTimeout()).Created);
        Assert.True((await store.CreateAsync(NewTask(NewThread(), owner), limits).AsTask().DefaultTimeout()).Created);
        var refused = NewTask(NewThread(), owner);
        var creation = await store.CreateAsync(refused, limits).AsTask().DefaultTimeout();
        Assert.False(creation.Created);
        Assert.Equal(CreationRefusal.TooManyActiveTasks, creation.Refused);
        Assert.Null(await store.GetAsync(refused.TaskId).AsTask().DefaultTimeout());
        Assert.Null(await store.GetThreadAsync(refused.ThreadId).AsTask().DefaultTimeout());
        Assert.True((await store.CreateAsync(NewTask(NewThread(), other), limits).AsTask().DefaultTimeout()).Created);

        await store.UpdateAsync(first.TaskId, new TaskUpdate(Status: TaskStates.Completed, EndedAt: 1)).AsTask().DefaultTimeout();
        Assert.True((await store.CreateAsync(NewTask(NewThread(), owner), limits).AsTask().DefaultTimeout()).Created);
    }

    [Fact]
    public async Task AnOwnerAtTheThreadLimit_CannotStartAThread_ButCanAddToOne()
    {
        var store = await CreateStoreAsync();
        string owner = "u" + Guid.NewGuid().ToString("N");
        var limits = new OwnerLimits(MaxActiveTasks: 0, MaxThreads: 2);
        string thread = NewThread();
        Assert.True((await store.CreateAsync(NewTask(thread, owner), limits).AsTask().DefaultTimeout()).Created);
        Assert.True((await store.CreateAsync(NewTask(NewThread(), owner), limits).AsTask().DefaultTimeout()).Created);
        var creation = await store.CreateAsync(NewTask(NewThread(), owner), limits).AsTask().DefaultTimeout();
        Assert.Equal(CreationRefusal.TooManyThreads, creation.Refused);
        Assert.True((await store.CreateAsync(NewTask(thread, owner), limits).AsTask().DefaultTimeout()).Created);
        Assert.True((await store.CreateAsync(NewTask(NewThread(), "u" + Guid.NewGuid().ToString("N")), limits).AsTask().DefaultTimeout()).Created);
    }

    [Fact]
    public async Task UnknownTaskAndThread_AreNull()
    {
        var store = await CreateStoreAsync();
        Assert.Null(await store.GetAsync("t" + Guid.NewGuid().ToString("N")).AsTask().DefaultTimeout());
        Assert.Null(await store.GetThreadAsync(NewThread()).AsTask().DefaultTimeout());
        Assert.Null(await store.UpdateAsync("t" + Guid.NewGuid().ToString("N"), new TaskUpdate(Status: TaskStates.Running)).AsTask().DefaultTimeout());
    }

    [Fact]
    public async Task Thread_ListsItsTasksOldestFirst_WithOwnerAndLatestAgent()
    {
        var store = await CreateStoreAsync();
        string thread = NewThread();
        var a = NewTask(thread);
        var b = NewTask(thread) with { Agent = "llm" };
        await store.CreateAsync(a).AsTask().DefaultTimeout();
        await store.CreateAsync(b).AsTask().DefaultTimeout();
        var record = await store.GetThreadAsync(thread).AsTask().DefaultTimeout();
        Assert.NotNull(record);
        Assert.Equal([a.TaskId, b.TaskId], record.TaskIds);
        Assert.Equal("alice", record.Owner);
        Assert.Equal("llm", record.Agent);
    }

    [Fact]
    public async Task SameIdempotencyKey_FromSameOwner_ReturnsTheFirstTask_AndStoresNothing()
    {
        var store = await CreateStoreAsync();
        string thread = NewThread(), key = Guid.NewGuid().ToString("N");
        var first = NewTask(thread, key: key);
        var again = NewTask(thread, key: key);
        Assert.True((await store.CreateAsync(first).AsTask().DefaultTimeout()).Created);
        var second = await store.CreateAsync(again).AsTask().DefaultTimeout();
        Assert.False(second.Created);
        Assert.Equal(first.TaskId, second.Task.TaskId);
        Assert.Null(await store.GetAsync(again.TaskId).AsTask().DefaultTimeout());
        Assert.Equal([first.TaskId], (await store.GetThreadAsync(thread).AsTask().DefaultTimeout())!.TaskIds);
    }

    [Fact]
    public async Task SameIdempotencyKey_FromAnotherOwner_IsANewTask()
    {
        var store = await CreateStoreAsync();
        string key = Guid.NewGuid().ToString("N");
        Assert.True((await store.CreateAsync(NewTask(NewThread(), "alice", key)).AsTask().DefaultTimeout()).Created);
        Assert.True((await store.CreateAsync(NewTask(NewThread(), "bob", key)).AsTask().DefaultTimeout()).Created);
    }

    [Fact]
    public async Task Update_ChangesOnlyTheGivenFields()
    {
        var store = await CreateStoreAsync();
        var task = NewTask(NewThread());
        await store.CreateAsync(task).AsTask().DefaultTimeout();
        var running = await store.UpdateAsync(task.TaskId, new TaskUpdate(Status: TaskStates.Running, Attempt: 1, StartedAt: 5)).AsTask().DefaultTimeout();
        Assert.Equal(task with { Status = TaskStates.Running, Attempt = 1, StartedAt = 5 }, running);
        var ended = await store.UpdateAsync(task.TaskId, new TaskUpdate(Status: TaskStates.Completed, EndedAt: 9)).AsTask().DefaultTimeout();
        Assert.Equal(task with { Status = TaskStates.Completed, Attempt = 1, StartedAt = 5, EndedAt = 9 }, ended);
        Assert.Equal(ended, await store.GetAsync(task.TaskId).AsTask().DefaultTimeout());
    }
}
