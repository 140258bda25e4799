using RealtimeAgents.Conformance;
using RealtimeAgents.Contracts;
using RealtimeAgents.Core;
using RealtimeAgents.Core.Runtime;
using RealtimeAgents.Testing;
using Xunit;

namespace RealtimeAgents.Server.Tests;

public abstract class HubStreamingTests(ServerFixture server)
{
    [Fact]
    public async Task SubmitAndSubscribe_DeliversEveryEventInOrder_ThroughTheTerminalEvent()
    {
        var client = await server.ConnectAsync();
        var task = await client.SubmitAsync(ServerFixture.Demo()).DefaultTimeout();
        var sub = await client.SubscribeAsync(task.TaskId).DefaultTimeout();
        Assert.True(sub.Result!.Recovered);
        var events = await sub.CollectAsync();
        StreamAssert.CompleteTask(events);
        Assert.All(events, e => Assert.Equal(task.TaskId, e.TaskId));
        Assert.All(events, e => Assert.Equal(task.ThreadId, e.ThreadId));
        Assert.Contains(events, e => e.Kind == EventKinds.ReasoningDelta);
        Assert.Equal(2, events.Count(e => e.Kind == EventKinds.ToolStart));
        Assert.Equal(20, events.Count(e => e.Kind == EventKinds.TextDelta));
        Assert.Equal(EventKinds.TaskCompleted, events[^1].Kind);
        Assert.Equal(StreamAssert.Text(events), events[^1].DataAs<TaskCompletedData>().Output);
        var info = await client.GetTaskAsync(task.TaskId).DefaultTimeout();
        Assert.Equal(TaskStates.Completed, info.Status);
        Assert.Equal("demo", info.Agent);
    }

    [Fact]
    public async Task SubscribeLiveOnly_ToAFinishedTask_DeliversItsTerminalEvent_AndEnds()
    {
        var client = await server.ConnectAsync();
        var task = await client.SubmitAsync(ServerFixture.Demo()).DefaultTimeout();
        var all = await (await client.SubscribeAsync(task.TaskId).DefaultTimeout()).CollectAsync();
        var live = await client.SubscribeAsync(task.TaskId, Cursors.Live).DefaultTimeout();
        var events = await live.CollectAsync();
        Assert.Equal([all[^1].Seq], events.Select(e => e.Seq));
        Assert.Equal(EventKinds.TaskCompleted, events[0].Kind);
        Assert.Equal(TaskStates.Completed, live.Result!.Status);
    }

    [Fact]
    public async Task SubscribeFromACursorInTheMiddleOfARunningTask_DeliversExactlyTheRemainder()
    {
        var client = await server.ConnectAsync();
        var task = await client.SubmitAsync(ServerFixture.Demo(new { tokens = 40, tokenIntervalMs = 15, firstTokenDelayMs = 0, toolDelayMs = 10 })).DefaultTimeout();
        var first = await client.SubscribeAsync(task.TaskId).DefaultTimeout();
        var head = await first.CollectAsync(until: e => e.Kind == EventKinds.TextDelta && e.Data.GetProperty("delta").GetString()!.Length > 0 && e.Seq > 15);
        var all = head.Concat(await first.CollectAsync()).ToList();

        var other = await server.ConnectAsync();
        var resumed = await other.SubscribeAsync(task.TaskId, head[^1].Id).DefaultTimeout();
        Assert.True(resumed.Result!.Recovered);
        Assert.Equal(head[^1].Id, resumed.Result.Cursor);
        var remainder = await resumed.CollectAsync();
        Assert.Equal(all.Skip(head.Count).Select(e => (e.Seq, e.Id, e.Kind)), remainder.Select(e => (e.Seq, e.Id, e.Kind)));
        StreamAssert.CompleteTask(all);
    }

    [Fact]
    public async Task LateJoinAfterCompletion_ReplaysTheFullHistory_ThenTheTerminalEvent()
    {
        var client = await server.ConnectAsync();
        var task = await client.SubmitAsync(ServerFixture.Demo()).DefaultTimeout();
        var live = await (await client.SubscribeAsync(task.TaskId).DefaultTimeout()).CollectAsync();
        var late = await server.ConnectAsync();
        var sub = await late.SubscribeAsync(task.TaskId).DefaultTimeout();
        Assert.Equal(TaskStates.Completed, sub.Result!.Status);
        var replayed = await sub.CollectAsync();
        Assert.Equal(live.Select(e => (e.Seq, e.Id)), replayed.Select(e => (e.Seq, e.Id)));
        StreamAssert.CompleteTask(replayed);
    }

    [Fact]
    public async Task TwoSubscribersOfOneTask_ReceiveIdenticalSequences()
    {
        var a = await server.ConnectAsync();
        var b = await server.ConnectAsync();
        var task = await a.SubmitAsync(ServerFixture.Demo(new { tokens = 60, tokenIntervalMs = 2, firstTokenDelayMs = 0, toolDelayMs = 0 })).DefaultTimeout();
        var subA = await a.SubscribeAsync(task.TaskId).DefaultTimeout();
        var subB = await b.SubscribeAsync(task.TaskId).DefaultTimeout();
        var (eventsA, eventsB) = (await subA.CollectAsync(), await subB.CollectAsync());
        StreamAssert.CompleteTask(eventsA);
        Assert.Equal(eventsA.Select(e => (e.Seq, e.Id, e.Kind, e.Data.GetRawText())), eventsB.Select(e => (e.Seq, e.Id, e.Kind, e.Data.GetRawText())));
    }

    [Fact]
    public async Task LiveOnlyCursor_DeliversOnlyEventsAfterTheSubscription()
    {
        var client = await server.ConnectAsync();
        var task = await client.SubmitAsync(ServerFixture.Demo(new { tokens = 30, tokenIntervalMs = 20, firstTokenDelayMs = 0, toolCalls = 0 })).DefaultTimeout();
        var full = await client.SubscribeAsync(task.TaskId).DefaultTimeout();
        var head = await full.CollectAsync(until: e => e.Kind == EventKinds.TextDelta);
        var other = await server.ConnectAsync();
        var live = await other.SubscribeAsync(task.TaskId, Cursors.Live).DefaultTimeout();
        var tail = await live.CollectAsync();
        Assert.True(tail[0].Seq > head[^1].Seq);
        // A live-only view starts mid-block, so only order and the ending are checked.
        StreamAssert.Contiguous(tail, tail[0].Seq);
        Assert.Equal(EventKinds.TaskCompleted, tail[^1].Kind);
    }

    [Fact]
    public async Task Interrupt_WhileTokensStream_EndsWithTaskCancelled_AfterAtMostOneMoreToken_WithBlocksClosed()
    {
        var client = await server.ConnectAsync();
        // Tokens 150 ms apart: "at most one more" then allows the worker up to 150–300 ms to see the
        // interrupt, which a loaded machine's scheduling delays stay well inside.
        var task = await client.SubmitAsync(ServerFixture.Demo(new { tokens = 500, tokenIntervalMs = 150, firstTokenDelayMs = 0, toolCalls = 0, reasoning = false })).DefaultTimeout();
        var sub = await client.SubscribeAsync(task.TaskId).DefaultTimeout();
        var head = await sub.CollectAsync(until: e => e.Kind == EventKinds.TextDelta && e.Seq >= 8);
        await client.InterruptAsync(task.TaskId, "stop please").DefaultTimeout();
        double interruptedAt = Clock.UnixMs();
        var tail = await sub.CollectAsync();
        var all = head.Concat(tail).ToList();
        StreamAssert.CompleteTask(all);
        Assert.Equal(EventKinds.TaskCancelled, all[^1].Kind);
        Assert.Equal("stop please", all[^1].DataAs<TaskCancelledData>().Reason);
        Assert.Equal(EventKinds.TextEnd, all[^2].Kind);
        int tokensAfter = tail.Count(e => e.Kind == EventKinds.TextDelta && e.Ts > interruptedAt);
        Assert.True(tokensAfter <= 1, $"{tokensAfter} tokens were written after the interrupt was accepted");
        Assert.Equal(TaskStates.Cancelled, (await client.GetTaskAsync(task.TaskId).DefaultTimeout()).Status);
    }

    [Fact]
    public async Task InjectedMessage_AppearsAsUserMessage_AndTheAgentReacts()
    {
        var client = await server.ConnectAsync();
        var task = await client.SubmitAsync(ServerFixture.Demo(new { tokens = 80, tokenIntervalMs = 20, firstTokenDelayMs = 0, toolCalls = 0, reasoning = false })).DefaultTimeout();
        var sub = await client.SubscribeAsync(task.TaskId).DefaultTimeout();
        var head = await sub.CollectAsync(until: e => e.Kind == EventKinds.TextDelta && e.Seq >= 8);
        var sent = await client.SendMessageAsync(task.ThreadId, "Make it Vienna instead", MessagePolicies.Inject).DefaultTimeout();
        Assert.Equal("injected", sent.Outcome);
        var all = head.Concat(await sub.CollectAsync()).ToList();
        StreamAssert.CompleteTask(all);
        var message = Assert.Single(all, e => e.Kind == EventKinds.UserMessage);
        Assert.Equal("Make it Vienna instead", message.DataAs<UserMessageData>().Text);
        Assert.Equal(sent.MessageId, message.DataAs<UserMessageData>().MessageId);
        string reaction = StreamAssert.Text(all.SkipWhile(e => e != message));
        Assert.Contains("Got it", reaction, StringComparison.Ordinal);
        Assert.Contains("Vienna", reaction, StringComparison.Ordinal);
        Assert.Contains("Vienna", all[^1].DataAs<TaskCompletedData>().Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task NetworkDropMidStream_TheSdkReconnectsAndResumes_WithoutGapsOrRepeats()
    {
        var client = await server.ConnectAsync();
        var task = await client.SubmitAsync(ServerFixture.Demo(new { tokens = 120, tokenIntervalMs = 10, firstTokenDelayMs = 0, toolCalls = 1, toolDelayMs = 10 })).DefaultTimeout();
        var sub = await client.SubscribeAsync(task.TaskId).DefaultTimeout();
        var head = await sub.CollectAsync(until: e => e.Kind == EventKinds.TextDelta && e.Seq >= 30);
        client.ConnectionFactory.AbortConnections();
        var all = head.Concat(await sub.CollectAsync(timeoutMs: 20_000)).ToList();
        StreamAssert.CompleteTask(all);
        Assert.True(sub.Resumes >= 1, "the subscription was resumed after the drop");
        Assert.Equal(120, all.Count(e => e.Kind == EventKinds.TextDelta));
    }

    [Fact]
    public async Task SameIdempotencyKey_SubmittedTwice_IsOneTask()
    {
        var client = await server.ConnectAsync();
        var request = ServerFixture.Demo() with { IdempotencyKey = Guid.NewGuid().ToString("N") };
        var first = await client.SubmitAsync(request).DefaultTimeout();
        var second = await client.SubmitAsync(request).DefaultTimeout();
        Assert.Equal(first, second);
    }
}

/// <summary>Every test above over the JSON hub protocol.</summary>
public sealed class HubStreamingTestsOverJson(ServerFixture server) : HubStreamingTests(server), IClassFixture<ServerFixture>;

/// <summary>Every test above over the MessagePack hub protocol.</summary>
public sealed class HubStreamingTestsOverMessagePack(MessagePackServerFixture server) : HubStreamingTests(server), IClassFixture<MessagePackServerFixture>;
