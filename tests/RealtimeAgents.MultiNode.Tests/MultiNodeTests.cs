using RealtimeAgents.Client;
using RealtimeAgents.Conformance;
using RealtimeAgents.Contracts;
using RealtimeAgents.Testing;
using Xunit;

namespace RealtimeAgents.MultiNode.Tests;

/// <summary>The multi-node suite, run on a single Redis and on a Redis Cluster.</summary>
public abstract class MultiNodeTests
{
    /// <summary>True to run the deployment on a 3-master Redis Cluster.</summary>
    protected abstract bool OnRedisCluster { get; }

    [Fact]
    public async Task ClientsOnTwoHubNodes_SubscribedToTheSameTasks_ReceiveIdenticalCompleteSequences()
    {
        await using var cluster = await Cluster.StartAsync(hubs: 2, workers: 2, OnRedisCluster);
        var onA = await cluster.ConnectAsync("hub-a");
        var onB = await cluster.ConnectAsync("hub-b");
        var tasks = new List<SubmitTaskResult>();
        for (int i = 0; i < 6; i++)
        {
            tasks.Add(await onA.SubmitAsync(Cluster.Demo(new { tokens = 40, tokenIntervalMs = 5, firstTokenDelayMs = 0, toolDelayMs = 5 })).DefaultTimeout());
        }
        var views = await Task.WhenAll(tasks.Select(async t =>
        {
            var a = await onA.SubscribeAsync(t.TaskId).DefaultTimeout();
            var b = await onB.SubscribeAsync(t.TaskId).DefaultTimeout();
            return (A: await a.CollectAsync(), B: await b.CollectAsync());
        })).DefaultTimeout(60_000);
        foreach (var (a, b) in views)
        {
            StreamAssert.CompleteTask(a);
            Assert.Equal(a.Select(e => (e.Seq, e.Id, e.Kind, e.Data.GetRawText())), b.Select(e => (e.Seq, e.Id, e.Kind, e.Data.GetRawText())));
        }
    }

    [Fact]
    public async Task ThreadWatcherOnOneNode_IsToldOfATaskSubmittedOnTheOther_ThroughTheBackplane()
    {
        await using var cluster = await Cluster.StartAsync(hubs: 2, workers: 1, OnRedisCluster);
        var onA = await cluster.ConnectAsync("hub-a");
        var onB = await cluster.ConnectAsync("hub-b");
        var first = await onA.SubmitAsync(Cluster.Demo(new { tokens = 3, tokenIntervalMs = 0, firstTokenDelayMs = 0, toolCalls = 0 })).DefaultTimeout();
        var (thread, newTasks) = await onB.WatchThreadAsync(first.ThreadId).DefaultTimeout();
        Assert.Equal(first.TaskId, Assert.Single(thread.Tasks).TaskId);
        var second = await onA.SubmitAsync(Cluster.Demo(new { tokens = 3 }) with { ThreadId = first.ThreadId }).DefaultTimeout();
        var notice = await newTasks.ReadAsync().AsTask().DefaultTimeout();
        Assert.Equal(second.TaskId, notice.TaskId);
    }

    [Fact]
    public async Task HubNodeKilledMidStream_ItsClientsResumeOnTheOtherNode_GaplessAndWithoutRepeats()
    {
        await using var cluster = await Cluster.StartAsync(hubs: 2, workers: 1, OnRedisCluster);
        var client = await cluster.ConnectAsync("hub-a", "hub-b");
        var slow = new { tokens = 150, tokenIntervalMs = 20, firstTokenDelayMs = 0, toolCalls = 0, reasoning = false };
        var subs = new List<TaskSubscription>();
        for (int i = 0; i < 4; i++)
        {
            var t = await client.SubmitAsync(Cluster.Demo(slow)).DefaultTimeout();
            subs.Add(await client.SubscribeAsync(t.TaskId).DefaultTimeout());
        }
        var heads = await Task.WhenAll(subs.Select(s => s.CollectAsync(e => e.Kind == EventKinds.TextDelta && e.Seq > 15))).DefaultTimeout(30_000);
        cluster.KillHub("hub-a");
        var tails = await Task.WhenAll(subs.Select(s => s.CollectAsync(timeoutMs: 45_000))).DefaultTimeout(60_000);
        for (int i = 0; i < subs.Count; i++)
        {
            var all = heads[i].Concat(tails[i]).ToList();
            StreamAssert.CompleteTask(all);
            Assert.Equal(EventKinds.TaskCompleted, all[^1].Kind);
            Assert.True(subs[i].Resumes >= 1);
            Assert.Equal(0, subs[i].DuplicatesDropped);
        }
        Assert.Equal(cluster.HubUrl("hub-b").Port, client.ConnectionFactory.CurrentUrl.Port);
    }

    [Fact]
    public async Task HubNodeStoppedWithSigterm_WhileRedisHangs_ExitsCleanly()
    {
        await using var cluster = await Cluster.StartAsync(hubs: 1, workers: 0, OnRedisCluster);
        var client = await cluster.ConnectAsync("hub-a");
        var task = await client.SubmitAsync(Cluster.Demo(new { tokens = 5 })).DefaultTimeout();
        var sub = await client.SubscribeAsync(task.TaskId).DefaultTimeout();
        await sub.CollectAsync(e => e.Kind == EventKinds.Status);
        // Redis stops answering (SIGSTOP), as a node does while it fails over: every command the
        // hub sends while stopping times out.
        foreach (var node in cluster.RedisNodes) node.Pause();

        // The backplane cannot unsubscribe now; the node still stops as asked, without an abort
        // (it waits out the multiplexer's 5 s command timeouts first: about 20 s in all).
        var took = await cluster.TerminateHubAsync("hub-a", TimeSpan.FromSeconds(40));
        foreach (var node in cluster.RedisNodes) node.Resume();
        var hub = cluster.Hub("hub-a");
        Assert.True(hub.HasExited);
        Assert.DoesNotContain("Unhandled exception", hub.Log, StringComparison.Ordinal);
        Assert.True(hub.ExitCode == 0, $"exit code {hub.ExitCode} after {took.TotalSeconds:F1} s:\n{hub.Log}");
    }

    [Fact]
    public async Task HubNodeStoppedWithSigterm_WithTenClients_ExitsAtOnce_AndEveryClientResumesOnTheOtherNode()
    {
        await using var cluster = await Cluster.StartAsync(hubs: 2, workers: 1, OnRedisCluster);
        var slow = new { tokens = 120, tokenIntervalMs = 20, firstTokenDelayMs = 0, toolCalls = 0, reasoning = false };
        var clients = new List<RealtimeAgentsClient>();
        var subs = new List<TaskSubscription>();
        for (int i = 0; i < 10; i++)
        {
            var client = await cluster.ConnectAsync("hub-a", "hub-b");
            clients.Add(client);
            var t = await client.SubmitAsync(Cluster.Demo(slow)).DefaultTimeout();
            subs.Add(await client.SubscribeAsync(t.TaskId).DefaultTimeout());
        }
        var heads = await Task.WhenAll(subs.Select(s => s.CollectAsync(e => e.Kind == EventKinds.TextDelta && e.Seq > 10))).DefaultTimeout(30_000);

        // The node says goodbye and closes its connections instead of waiting out the host's 30 s
        // shutdown timeout for them. The target is 2 s; the bound leaves room for a loaded machine.
        var took = await cluster.TerminateHubAsync("hub-a");
        Assert.True(took < TimeSpan.FromSeconds(3), $"hub-a took {took.TotalMilliseconds:F0} ms to exit after SIGTERM");

        var tails = await Task.WhenAll(subs.Select(s => s.CollectAsync(timeoutMs: 45_000))).DefaultTimeout(60_000);
        for (int i = 0; i < subs.Count; i++)
        {
            var all = heads[i].Concat(tails[i]).ToList();
            StreamAssert.CompleteTask(all);
            Assert.Equal(EventKinds.TaskCompleted, all[^1].Kind);
            Assert.Equal(0, subs[i].DuplicatesDropped);
            Assert.Equal(cluster.HubUrl("hub-b").Port, clients[i].ConnectionFactory.CurrentUrl.Port);
        }
    }

    [Fact]
    public async Task PubSubConnectionKilledMidStream_NoClientMissesAnEvent()
    {
        await using var cluster = await Cluster.StartAsync(hubs: 2, workers: 1, OnRedisCluster);
        var onA = await cluster.ConnectAsync("hub-a");
        var onB = await cluster.ConnectAsync("hub-b");
        var slow = new { tokens = 120, tokenIntervalMs = 15, firstTokenDelayMs = 0, toolCalls = 0, reasoning = false };
        var subs = new List<TaskSubscription>();
        for (int i = 0; i < 3; i++)
        {
            var t = await onA.SubmitAsync(Cluster.Demo(slow)).DefaultTimeout();
            subs.Add(await onA.SubscribeAsync(t.TaskId).DefaultTimeout());
            subs.Add(await onB.SubscribeAsync(t.TaskId).DefaultTimeout());
        }
        var heads = await Task.WhenAll(subs.Select(s => s.CollectAsync(e => e.Kind == EventKinds.TextDelta && e.Seq > 10))).DefaultTimeout(30_000);
        await cluster.KillPubSubConnectionsAsync();
        await Task.Delay(300);
        await cluster.KillPubSubConnectionsAsync();
        var tails = await Task.WhenAll(subs.Select(s => s.CollectAsync(timeoutMs: 45_000))).DefaultTimeout(60_000);
        for (int i = 0; i < subs.Count; i++)
        {
            var all = heads[i].Concat(tails[i]).ToList();
            StreamAssert.CompleteTask(all);
            Assert.Equal(0, subs[i].DuplicatesDropped);
        }
    }
}

[Collection("multi-node")]
public sealed class MultiNodeOnSingleRedisTests : MultiNodeTests
{
    protected override bool OnRedisCluster => false;
}

[Collection("multi-node")]
public sealed class MultiNodeOnRedisClusterTests : MultiNodeTests
{
    protected override bool OnRedisCluster => true;
}
