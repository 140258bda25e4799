using RealtimeAgents.Conformance;
using RealtimeAgents.Contracts;
using RealtimeAgents.Testing;
using Xunit;

namespace RealtimeAgents.Server.Tests;

public abstract class HubThreadTests(ServerFixture server)
{
    private static object Slow => new { tokens = 300, tokenIntervalMs = 20, firstTokenDelayMs = 0, toolCalls = 0, reasoning = false };

    [Fact]
    public async Task InterruptPolicy_CancelsTheRunningTask_AndStartsANewOneWithTheMessage()
    {
        var client = await server.ConnectAsync();
        var first = await client.SubmitAsync(ServerFixture.Demo(Slow)).DefaultTimeout();
        var sub = await client.SubscribeAsync(first.TaskId).DefaultTimeout();
        await sub.CollectAsync(until: e => e.Kind == EventKinds.TextDelta);
        var sent = await client.SendMessageAsync(first.ThreadId, "Forget it, plan Madrid").DefaultTimeout();
        Assert.Equal("started", sent.Outcome);
        Assert.NotEqual(first.TaskId, sent.TaskId);
        var rest = await sub.CollectAsync();
        Assert.Equal(EventKinds.TaskCancelled, rest[^1].Kind);
        var next = await (await client.SubscribeAsync(sent.TaskId).DefaultTimeout()).CollectAsync(timeoutMs: 30_000);
        StreamAssert.CompleteTask(next);
        Assert.Equal("Forget it, plan Madrid", next.First(e => e.Kind == EventKinds.TaskStarted).DataAs<TaskStartedData>().Input);
    }

    [Fact]
    public async Task RejectPolicy_RefusesWhileATaskRuns_AndChangesNothing()
    {
        var client = await server.ConnectAsync();
        var first = await client.SubmitAsync(ServerFixture.Demo(Slow)).DefaultTimeout();
        var ex = await Assert.ThrowsAsync<Microsoft.AspNetCore.SignalR.HubException>(() =>
            client.SendMessageAsync(first.ThreadId, "hello?", MessagePolicies.Reject)).DefaultTimeout();
        Assert.Contains("still running", ex.Message, StringComparison.Ordinal);
        var thread = await client.WatchThreadAsync(first.ThreadId).DefaultTimeout();
        Assert.Single(thread.Thread.Tasks);
        await client.InterruptAsync(first.TaskId).DefaultTimeout();
    }

    [Fact]
    public async Task WatchThread_ListsTheThreadsTasks_AndNotifiesEachNewOne()
    {
        var client = await server.ConnectAsync();
        var first = await client.SubmitAsync(ServerFixture.Demo()).DefaultTimeout();
        var (thread, newTasks) = await client.WatchThreadAsync(first.ThreadId).DefaultTimeout();
        Assert.Equal(first.TaskId, Assert.Single(thread.Tasks).TaskId);
        var second = await client.SubmitAsync(ServerFixture.Demo() with { ThreadId = first.ThreadId }).DefaultTimeout();
        var notice = await newTasks.ReadAsync().AsTask().DefaultTimeout();
        Assert.Equal(second.TaskId, notice.TaskId);
        Assert.Equal(first.ThreadId, second.ThreadId);
    }

    [Fact]
    public async Task EnqueuePolicy_QueuesBehindTheRunningTask()
    {
        var client = await server.ConnectAsync();
        var first = await client.SubmitAsync(ServerFixture.Demo(new { tokens = 30, tokenIntervalMs = 10, firstTokenDelayMs = 0, toolCalls = 0 })).DefaultTimeout();
        var queued = await client.SendMessageAsync(first.ThreadId, "then Seville", MessagePolicies.Enqueue).DefaultTimeout();
        Assert.Equal("queued", queued.Outcome);
        Assert.Equal(TaskStates.Pending, (await client.GetTaskAsync(queued.TaskId).DefaultTimeout()).Status);
        var firstEvents = await (await client.SubscribeAsync(first.TaskId).DefaultTimeout()).CollectAsync();
        var secondEvents = await (await client.SubscribeAsync(queued.TaskId).DefaultTimeout()).CollectAsync(timeoutMs: 30_000);
        Assert.Equal(EventKinds.TaskCompleted, firstEvents[^1].Kind);
        StreamAssert.CompleteTask(secondEvents);
        Assert.True(secondEvents.First(e => e.Kind == EventKinds.TaskStarted).Ts >= firstEvents[^1].Ts);
    }
}

/// <summary>Every test above over the JSON hub protocol.</summary>
public sealed class HubThreadTestsOverJson(ServerFixture server) : HubThreadTests(server), IClassFixture<ServerFixture>;

/// <summary>Every test above over the MessagePack hub protocol.</summary>
public sealed class HubThreadTestsOverMessagePack(MessagePackServerFixture server) : HubThreadTests(server), IClassFixture<MessagePackServerFixture>;
