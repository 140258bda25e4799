using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using RealtimeAgents.Client;
using RealtimeAgents.Conformance;
using RealtimeAgents.Contracts;
using RealtimeAgents.Core.Relay;

using RealtimeAgents.Testing;
using Xunit;

namespace RealtimeAgents.Core.Redis.Tests;

public sealed class DistributedTests
{
    private static SubmitTaskRequest Demo(object options, string input = "Plan a trip to Bergen") => new()
    {
        Agent = "demo", Input = input, Options = JsonSerializer.SerializeToElement(options),
    };

    [Fact]
    public async Task WorkerKilledMidTask_AnotherWorkerReclaimsIt_AndTheClientSeesAttempt2AndTheEnd()
    {
        await using var d = await Distributed.StartAsync();
        var a = await d.StartWorkerAsync("worker-a");
        var client = await d.ConnectAsync();
        var task = await client.SubmitAsync(Demo(new { tokens = 150, tokenIntervalMs = 20, firstTokenDelayMs = 0, toolCalls = 1, toolDelayMs = 10 })).DefaultTimeout();
        var sub = await client.SubscribeAsync(task.TaskId).DefaultTimeout();
        var head = await sub.CollectAsync(e => e.Kind == EventKinds.TextDelta && e.Seq > 20);
        a.Kill();
        var b = await d.StartWorkerAsync("worker-b");
        var all = head.Concat(await sub.CollectAsync()).ToList();
        StreamAssert.CompleteTask(all);
        var attempts = all.Where(e => e.Kind == EventKinds.TaskStarted).Select(e => e.DataAs<TaskStartedData>().Attempt).ToList();
        Assert.Equal([1, 2], attempts);
        Assert.Equal(EventKinds.TaskCompleted, all[^1].Kind);
        Assert.False(b.HasExited);
        Assert.Equal(2, (await client.GetTaskAsync(task.TaskId).DefaultTimeout()).Attempt);
    }

    [Fact]
    public async Task InterruptAndInjectedMessages_CrossFromTheHubProcessToTheWorkerProcess()
    {
        await using var d = await Distributed.StartAsync();
        await d.StartWorkerAsync("worker-a");
        var client = await d.ConnectAsync();
        var slow = new { tokens = 400, tokenIntervalMs = 20, firstTokenDelayMs = 0, toolCalls = 0, reasoning = false };

        var injected = await client.SubmitAsync(Demo(slow)).DefaultTimeout();
        var sub = await client.SubscribeAsync(injected.TaskId).DefaultTimeout();
        var head = await sub.CollectAsync(e => e.Kind == EventKinds.TextDelta && e.Seq > 10);
        await client.SendMessageAsync(injected.ThreadId, "Switch to Tromso please", MessagePolicies.Inject).DefaultTimeout();
        var more = await sub.CollectAsync(e => e.Kind == EventKinds.TextDelta && StreamAssert.Text([e]).Contains("Got it", StringComparison.Ordinal));
        Assert.Contains(more, e => e.Kind == EventKinds.UserMessage);
        await client.InterruptAsync(injected.TaskId, "done here").DefaultTimeout();
        var all = head.Concat(more).Concat(await sub.CollectAsync()).ToList();
        StreamAssert.CompleteTask(all);
        Assert.Equal(EventKinds.TaskCancelled, all[^1].Kind);
        Assert.Equal("done here", all[^1].DataAs<TaskCancelledData>().Reason);
    }

    [Fact]
    public async Task InterruptSentBeforeAnyWorkerRuns_IsKept_AndHonouredWhenOneStarts()
    {
        await using var d = await Distributed.StartAsync();
        var client = await d.ConnectAsync();
        var task = await client.SubmitAsync(Demo(new { tokens = 400, tokenIntervalMs = 20 })).DefaultTimeout();
        await client.InterruptAsync(task.TaskId, "too late").DefaultTimeout();
        await d.StartWorkerAsync("worker-a");
        var events = await (await client.SubscribeAsync(task.TaskId).DefaultTimeout()).CollectAsync(timeoutMs: 30_000);
        StreamAssert.CompleteTask(events);
        Assert.Equal(EventKinds.TaskCancelled, events[^1].Kind);
    }

    [Fact]
    public async Task RedisRestartedWithAofDuringARun_KeepsEveryAcknowledgedEvent_AndSeqContinuesWithoutAHole()
    {
        await using var d = await Distributed.StartAsync(appendOnly: true);
        await d.StartWorkerAsync("worker-a", visibility: TimeSpan.FromSeconds(10));
        var client = await d.ConnectAsync();
        var task = await client.SubmitAsync(Demo(new { tokens = 200, tokenIntervalMs = 15, firstTokenDelayMs = 0, toolCalls = 0, reasoning = false })).DefaultTimeout();
        var sub = await client.SubscribeAsync(task.TaskId).DefaultTimeout();
        var head = await sub.CollectAsync(e => e.Kind == EventKinds.TextDelta && e.Seq > 40);
        await d.Redis.RestartAsync().DefaultTimeout(20_000);
        var all = head.Concat(await sub.CollectAsync(timeoutMs: 45_000)).ToList();
        StreamAssert.CompleteTask(all);
        Assert.Equal(EventKinds.TaskCompleted, all[^1].Kind);

        // What the stream holds after the restart is exactly what the client saw: nothing acknowledged was lost.
        var log = d.Get<IEventLog>();
        var stored = await log.ReadAsync(task.TaskId, StreamId.Zero, 10_000).AsTask().DefaultTimeout();
        Assert.Equal(all.Select(e => (e.Seq, e.Id)), stored.Select(e => (e.Seq, e.IdText)));
    }

    [Fact]
    public async Task CursorOlderThanWhatRedisRetains_IsNotRecovered()
    {
        await using var server = await RedisServer.StartAsync();
        await using var client = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(server.ConnectionString).DefaultTimeout();
        var log = new RedisEventLog(client, new RedisKeys(RedisServer.UniquePrefix()),
            Options.Create(new EventLogOptions { MaxLength = 100 }), NullLogger<RedisEventLog>.Instance);
        string taskId = "t" + Guid.NewGuid().ToString("N");
        var first = await log.AppendAsync(taskId, "th", EventKinds.Status, JsonSerializer.SerializeToElement(new { phase = "x" }), 1).AsTask().DefaultTimeout();
        for (int i = 0; i < 1000; i++)
        {
            await log.AppendAsync(taskId, "th", EventKinds.Status, JsonSerializer.SerializeToElement(new { phase = "x" }), 1).AsTask().DefaultTimeout();
        }
        var relay = new EventRelay(log, Options.Create(new RelayOptions()), NullLogger<EventRelay>.Instance);
        await using var stale = await relay.SubscribeAsync(taskId, Cursor.AfterId(first.Id), new NullSink()).DefaultTimeout();
        Assert.False(stale.Recovered);
        await using var fromStart = await relay.SubscribeAsync(taskId, Cursor.Start, new NullSink()).DefaultTimeout();
        Assert.False(fromStart.Recovered);
        var info = await log.GetInfoAsync(taskId).AsTask().DefaultTimeout();
        await using var recent = await relay.SubscribeAsync(taskId, Cursor.AfterId(info!.FirstId), new NullSink()).DefaultTimeout();
        Assert.True(recent.Recovered);
    }

    private sealed class NullSink : IEventSink
    {
        public ValueTask DeliverAsync(EventRecord record, CancellationToken cancellationToken) => ValueTask.CompletedTask;
        public ValueTask EndAsync(SubscriptionEnded ended, CancellationToken cancellationToken) => ValueTask.CompletedTask;
    }
}
