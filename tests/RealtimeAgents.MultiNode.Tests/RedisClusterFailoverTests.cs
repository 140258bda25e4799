using RealtimeAgents.Client;
using RealtimeAgents.Conformance;
using RealtimeAgents.Contracts;
using RealtimeAgents.Testing;
using StackExchange.Redis;
using Xunit;
using Xunit.Abstractions;

namespace RealtimeAgents.MultiNode.Tests;

/// <summary>
/// A Redis Cluster with one replica per master loses the master that holds a streaming task's
/// slot; its replica is promoted. Replication is asynchronous, so the replica may lack the last
/// appends: every client must still end with a complete 1..n or an honest "not recovered",
/// never a silent gap, and never one seq that two clients saw as two different events.
/// </summary>
[Collection("multi-node")]
public sealed class RedisClusterFailoverTests(ITestOutputHelper output)
{
    [Fact]
    public async Task TheMasterOfAStreamingTasksSlotDies_EveryClientEndsCompleteOrHonestlyNotRecovered_AndNewTasksRun()
    {
        await using var cluster = await Cluster.StartAsync(hubs: 2, workers: 1, redisCluster: true, replicas: 1);
        var onA = await cluster.ConnectAsync("hub-a");
        var onB = await cluster.ConnectAsync("hub-b");
        var task = await onA.SubmitAsync(Cluster.Demo(new { tokens = 150, tokenIntervalMs = 20, firstTokenDelayMs = 0, toolCalls = 0, reasoning = false }))
            .DefaultTimeout();
        var views = new[] { Watch(await onA.SubscribeAsync(task.TaskId).DefaultTimeout()), Watch(await onB.SubscribeAsync(task.TaskId).DefaultTimeout()) };
        await Eventually.TrueAsync(() => Task.FromResult(views.All(v => v.Events.Count >= 20)), 30_000, "the task did not start streaming");

        await using var admin = await ConnectionMultiplexer.ConnectAsync(cluster.RedisConnectionString).DefaultTimeout(15_000);
        string streamKey = $"{cluster.Prefix}task:{{{task.TaskId}}}:events";
        var master = cluster.RedisCluster!.MasterOf(admin, streamKey);
        int seenBeforeKill = views.Max(v => v.Events.Count);
        await master.KillAsync().DefaultTimeout();
        output.WriteLine($"killed the master on port {master.Port} after {seenBeforeKill} events had reached a client");
        await cluster.RedisCluster.WaitUntilHealthyAsync(TimeSpan.FromSeconds(30)).DefaultTimeout(35_000);

        foreach (var view in views) await view.Done.DefaultTimeout(90_000);
        var bySeq = new Dictionary<long, (string Kind, string Data)>();
        for (int i = 0; i < views.Length; i++)
        {
            var (events, lost) = (views[i].Events, views[i].Lost);
            output.WriteLine($"client {i}: {events.Count} events, last seq {events.LastOrDefault()?.Seq} ({events.LastOrDefault()?.Kind}), " +
                (lost is null ? "complete" : $"ended with {lost.GetType().Name}"));
            // Never a silent gap: whatever a client got is 1..k in order.
            StreamAssert.Contiguous(events);
            if (lost is null) Assert.True(EventKinds.IsTerminal(events[^1].Kind), "a view that did not end honestly must end with the terminal event");
            else Assert.IsType<SubscriptionLostException>(lost);
            // Never one seq as two different events across clients.
            foreach (var ev in events)
            {
                var seen = (ev.Kind, ev.Data.GetRawText());
                if (bySeq.TryGetValue(ev.Seq, out var other)) Assert.Equal(other, seen);
                else bySeq[ev.Seq] = seen;
            }
        }
        var meta = await admin.GetDatabase().HashGetAllAsync($"{cluster.Prefix}task:{{{task.TaskId}}}:meta").DefaultTimeout();
        output.WriteLine("stream meta after the failover: " + string.Join(", ", meta.Where(e => e.Name != "token").Select(e => $"{e.Name}={e.Value}")));

        // The cluster keeps serving: a new task runs to its end.
        var next = await onB.SubmitAsync(Cluster.Demo(new { tokens = 10, tokenIntervalMs = 0, firstTokenDelayMs = 0, toolCalls = 1 })).DefaultTimeout(30_000);
        var after = await (await onB.SubscribeAsync(next.TaskId).DefaultTimeout(30_000)).CollectAsync(timeoutMs: 60_000);
        StreamAssert.CompleteTask(after);
    }

    private static View Watch(TaskSubscription sub)
    {
        var view = new View();
        view.Done = Task.Run(async () =>
        {
            try
            {
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(80));
                await foreach (var ev in sub.ReadEventsAsync(cts.Token)) lock (view.Events) view.Events.Add(ev);
            }
            catch (SubscriptionLostException ex)
            {
                view.Lost = ex;
            }
        });
        return view;
    }

    private sealed class View
    {
        public List<AgentEvent> Events { get; } = [];
        public Exception? Lost { get; set; }
        public Task Done { get; set; } = Task.CompletedTask;
    }
}
