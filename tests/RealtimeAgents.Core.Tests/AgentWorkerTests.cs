using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using RealtimeAgents.Core.InMemory;
using RealtimeAgents.Conformance;
using RealtimeAgents.Contracts;
using RealtimeAgents.Testing;
using Xunit;

namespace RealtimeAgents.Core.Tests;

public sealed class AgentWorkerTests
{
    private static readonly Caller Owner = Caller.User("alice");

    [Fact]
    public async Task DemoAgent_RunsToCompletion_WithFramedBlocksAndOneTerminalEvent()
    {
        await using var kit = new RuntimeKit();
        await kit.StartWorkerAsync();
        var submitted = await kit.Tasks.SubmitAsync(Owner, RuntimeKit.Demo()).DefaultTimeout();
        var events = await kit.CollectAsync(submitted.TaskId);
        StreamAssert.CompleteTask(events);
        Assert.Equal(EventKinds.Status, events[0].Kind);
        Assert.Equal(EventKinds.TaskStarted, events[1].Kind);
        Assert.Equal(1, events[1].DataAs<TaskStartedData>().Attempt);
        Assert.Equal(2, events.Count(e => e.Kind == EventKinds.ToolResult));
        Assert.Equal(8, events.Count(e => e.Kind == EventKinds.TextDelta));
        var completed = events[^1].DataAs<TaskCompletedData>();
        Assert.Equal(EventKinds.TaskCompleted, events[^1].Kind);
        Assert.Equal(StreamAssert.Text(events), completed.Output);
        Assert.StartsWith("Here is a plan for Kyoto.", completed.Output, StringComparison.Ordinal);
        var info = await kit.Tasks.GetTaskAsync(Owner, submitted.TaskId).DefaultTimeout();
        Assert.Equal(TaskStates.Completed, info.Status);
        Assert.Equal(1, info.Attempt);
    }

    [Fact]
    public async Task AgentThatThrows_EndsWithTaskFailed_AfterItsOpenBlocksAreClosedNewestFirst()
    {
        await using var kit = new RuntimeKit();
        await kit.StartWorkerAsync();
        var submitted = await kit.Tasks.SubmitAsync(Owner, new SubmitTaskRequest { Agent = "failing", Input = "x" }).DefaultTimeout();
        var events = await kit.CollectAsync(submitted.TaskId);
        StreamAssert.CompleteTask(events);
        Assert.Equal([EventKinds.TextEnd, EventKinds.ToolEnd, EventKinds.TaskFailed], events.TakeLast(3).Select(e => e.Kind));
        var failed = events[^1].DataAs<TaskFailedData>();
        Assert.Equal("the model went away", failed.Message);
        Assert.Equal("agent_error", failed.Code);
    }

    [Fact]
    public async Task Interrupt_WhileTokensStream_EndsWithTaskCancelled_AndTheReason()
    {
        await using var kit = new RuntimeKit();
        await kit.StartWorkerAsync();
        var submitted = await kit.Tasks.SubmitAsync(Owner, new SubmitTaskRequest { Agent = "endless", Input = "x" }).DefaultTimeout();
        var collecting = kit.CollectAsync(submitted.TaskId);
        await kit.WaitForEventAsync(submitted.TaskId, EventKinds.TextDelta);
        await kit.Tasks.InterruptAsync(Owner, submitted.TaskId, "enough").DefaultTimeout();
        var events = await collecting;
        StreamAssert.CompleteTask(events);
        Assert.Equal(EventKinds.TextEnd, events[^2].Kind);
        Assert.Equal("enough", events[^1].DataAs<TaskCancelledData>().Reason);
        Assert.Equal(TaskStates.Cancelled, (await kit.Tasks.GetTaskAsync(Owner, submitted.TaskId).DefaultTimeout()).Status);
    }

    [Fact]
    public async Task InterruptSentBeforeAnyWorkerStarted_IsNotLost()
    {
        await using var kit = new RuntimeKit();
        var submitted = await kit.Tasks.SubmitAsync(Owner, new SubmitTaskRequest { Agent = "endless", Input = "x" }).DefaultTimeout();
        await kit.Tasks.InterruptAsync(Owner, submitted.TaskId, "changed my mind").DefaultTimeout();
        await kit.StartWorkerAsync();
        var events = await kit.CollectAsync(submitted.TaskId);
        StreamAssert.CompleteTask(events);
        Assert.Equal(EventKinds.TaskCancelled, events[^1].Kind);
    }

    [Fact]
    public async Task TaskWhoseWorkerDied_IsReclaimed_AndTheRetrySaysAttempt2()
    {
        await using var kit = new RuntimeKit();
        var submitted = await kit.Tasks.SubmitAsync(Owner, RuntimeKit.Demo()).DefaultTimeout();
        // A worker takes the task and dies without a word: its lease is never renewed.
        var dead = await kit.Get<ITaskQueue>().DequeueAsync("dead-worker", TimeSpan.FromSeconds(1)).AsTask().DefaultTimeout();
        Assert.Equal(submitted.TaskId, dead?.TaskId);
        await kit.StartWorkerAsync();
        var events = await kit.CollectAsync(submitted.TaskId);
        StreamAssert.CompleteTask(events);
        var started = Assert.Single(events, e => e.Kind == EventKinds.TaskStarted);
        Assert.Equal(2, started.DataAs<TaskStartedData>().Attempt);
        Assert.Equal(EventKinds.TaskCompleted, events[^1].Kind);
    }

    [Fact]
    public async Task Retry_ClosesTheBlocksItsDeadPredecessorLeftOpen_AndFencesItOut()
    {
        await using var kit = new RuntimeKit();
        var submitted = await kit.Tasks.SubmitAsync(Owner, RuntimeKit.Demo()).DefaultTimeout();
        var log = kit.Get<IEventLog>();
        var dead = (await kit.Get<ITaskQueue>().DequeueAsync("dead-worker", TimeSpan.FromSeconds(1)).AsTask().DefaultTimeout())!;
        // The first attempt got as far as opening a text block, then its process died.
        var text = JsonSerializer.SerializeToElement(new TextData("msg_dead", Role: "assistant"), ContractsJsonContext.Default.TextData);
        await log.AppendAsync(submitted.TaskId, submitted.ThreadId, EventKinds.TaskStarted,
            JsonSerializer.SerializeToElement(new TaskStartedData("demo", "x", 1), ContractsJsonContext.Default.TaskStartedData), 1, dead.Attempt).AsTask().DefaultTimeout();
        await log.AppendAsync(submitted.TaskId, submitted.ThreadId, EventKinds.TextStart, text, 2, dead.Attempt).AsTask().DefaultTimeout();
        await kit.StartWorkerAsync();
        var events = await kit.CollectAsync(submitted.TaskId);
        StreamAssert.CompleteTask(events);
        int retry = events.FindIndex(e => e.Kind == EventKinds.TaskStarted && e.DataAs<TaskStartedData>().Attempt == 2);
        Assert.Equal(EventKinds.TextEnd, events[retry + 1].Kind);
        Assert.Equal("msg_dead", events[retry + 1].DataAs<TextData>().MessageId);
        // The dead attempt, were it only slow, can no longer write.
        await Assert.ThrowsAsync<StaleAttemptException>(() => log.AppendAsync(submitted.TaskId, submitted.ThreadId,
            EventKinds.TextDelta, text, 3, dead.Attempt).AsTask()).DefaultTimeout();
    }

    [Fact]
    public async Task TaskThatKeepsLosingItsWorker_EndsWithTaskFailed_AfterMaxAttempts()
    {
        await using var kit = new RuntimeKit();
        var submitted = await kit.Tasks.SubmitAsync(Owner, RuntimeKit.Demo()).DefaultTimeout();
        await kit.Get<ITaskQueue>().DequeueAsync("dead-worker", TimeSpan.FromSeconds(1)).AsTask().DefaultTimeout();
        await kit.StartWorkerAsync(o => o.MaxAttempts = 1);
        var events = await kit.CollectAsync(submitted.TaskId);
        StreamAssert.CompleteTask(events);
        Assert.Equal("retries_exhausted", events[^1].DataAs<TaskFailedData>().Code);
    }

    [Fact]
    public async Task StoppingWorker_HandsItsTaskBack_AndAnotherFinishesIt_AsAttempt2()
    {
        await using var kit = new RuntimeKit();
        var first = await kit.StartWorkerAsync();
        var submitted = await kit.Tasks.SubmitAsync(Owner, RuntimeKit.Demo(options: new { tokens = 40, tokenIntervalMs = 25, firstTokenDelayMs = 0, toolCalls = 0, reasoning = false })).DefaultTimeout();
        var collecting = kit.CollectAsync(submitted.TaskId);
        await kit.WaitForEventAsync(submitted.TaskId, EventKinds.TextDelta);
        await first.StopAsync(CancellationToken.None).DefaultTimeout();
        await kit.StartWorkerAsync();
        var events = await collecting;
        StreamAssert.CompleteTask(events);
        var starts = events.Where(e => e.Kind == EventKinds.TaskStarted).Select(e => e.DataAs<TaskStartedData>().Attempt).ToList();
        Assert.Equal([1, 2], starts);
        Assert.Contains(events, e => e.Kind == EventKinds.Status && e.DataAs<StatusData>().Phase == StatusPhases.Waiting);
        Assert.Equal(EventKinds.TaskCompleted, events[^1].Kind);
    }

    [Fact]
    public async Task InjectedMessage_AppearsAsUserMessage_AndTheDemoAgentChangesCourse()
    {
        await using var kit = new RuntimeKit();
        await kit.StartWorkerAsync();
        var submitted = await kit.Tasks.SubmitAsync(Owner, RuntimeKit.Demo(options: new { tokens = 60, tokenIntervalMs = 20, firstTokenDelayMs = 0, toolCalls = 0, reasoning = false })).DefaultTimeout();
        var collecting = kit.CollectAsync(submitted.TaskId);
        await kit.WaitForEventAsync(submitted.TaskId, EventKinds.TextDelta);
        var sent = await kit.Threads.SendMessageAsync(Owner, submitted.ThreadId, "Actually, go to Rome instead", MessagePolicies.Inject).DefaultTimeout();
        Assert.Equal("injected", sent.Outcome);
        Assert.Equal(submitted.TaskId, sent.TaskId);
        var events = await collecting;
        StreamAssert.CompleteTask(events);
        int at = events.FindIndex(e => e.Kind == EventKinds.UserMessage);
        Assert.True(at > 0, "user.message is in the stream");
        Assert.Equal("Actually, go to Rome instead", events[at].DataAs<UserMessageData>().Text);
        string after = StreamAssert.Text(events.Skip(at));
        Assert.Contains("Got it", after, StringComparison.Ordinal);
        Assert.Contains("Rome", after, StringComparison.Ordinal);
    }

    [Fact]
    public async Task EnqueuePolicy_StartsTheNewTaskOnlyAfterTheRunningOneEnds()
    {
        await using var kit = new RuntimeKit();
        await kit.StartWorkerAsync();
        var first = await kit.Tasks.SubmitAsync(Owner, RuntimeKit.Demo(options: new { tokens = 20, tokenIntervalMs = 10, firstTokenDelayMs = 0, toolCalls = 0, reasoning = false })).DefaultTimeout();
        var queued = await kit.Threads.SendMessageAsync(Owner, first.ThreadId, "and then Oslo", MessagePolicies.Enqueue).DefaultTimeout();
        Assert.Equal("queued", queued.Outcome);
        var firstEvents = await kit.CollectAsync(first.TaskId);
        var secondEvents = await kit.CollectAsync(queued.TaskId);
        Assert.Equal(EventKinds.TaskCompleted, firstEvents[^1].Kind);
        Assert.Equal(EventKinds.TaskCompleted, secondEvents[^1].Kind);
        var secondStarted = secondEvents.First(e => e.Kind == EventKinds.TaskStarted);
        Assert.True(secondStarted.Ts >= firstEvents[^1].Ts, "the queued task started after the first ended");
    }

    [Fact]
    public async Task InvalidDemoOptions_AreRefusedAtSubmit_AndCreateNothing()
    {
        await using var kit = new RuntimeKit();
        var ex = await Assert.ThrowsAsync<RealtimeAgentsException>(() =>
            kit.Tasks.SubmitAsync(Owner, RuntimeKit.Demo(options: new { tokens = -5 }))).DefaultTimeout();
        Assert.Contains("tokens", ex.Message, StringComparison.Ordinal);
        Assert.Equal(0, ((Core.InMemory.InMemoryEventLog)kit.Get<IEventLog>()).StreamCount);
    }

    [Fact]
    public async Task ABacklogLargerThanTheSlots_IsTakenInBatches_NeverBeyondTheSlots()
    {
        var queue = new CountingQueue(new InMemoryTaskQueue(Microsoft.Extensions.Options.Options.Create(new TaskQueueOptions())));
        await using var kit = new RuntimeKit(s => s.AddSingleton<ITaskQueue>(queue));
        var fast = new { tokens = 3, tokenIntervalMs = 30, firstTokenDelayMs = 0, toolCalls = 0, reasoning = false };
        var submitted = new List<SubmitTaskResult>();
        for (int i = 0; i < 18; i++) submitted.Add(await kit.Tasks.SubmitAsync(Owner, RuntimeKit.Demo(options: fast)).DefaultTimeout());

        await kit.StartWorkerAsync(o => o.Concurrency = 6);
        foreach (var t in submitted)
        {
            var events = await kit.CollectAsync(t.TaskId);
            Assert.Equal(EventKinds.TaskCompleted, events[^1].Kind);
        }
        // One lease per dequeue at first, then more while the queue hands over all that was asked.
        Assert.True(queue.LargestBatch > 1, $"largest batch {queue.LargestBatch}");
        Assert.True(queue.MostHeld <= 6, $"{queue.MostHeld} leases held at once by a worker of 6 slots");
        Assert.Equal(18, queue.Dequeued);
    }

}
