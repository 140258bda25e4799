using RealtimeAgents.Conformance;
using System.Globalization;
using RealtimeAgents.Client;
using RealtimeAgents.Contracts;
using RealtimeAgents.Testing;
using Xunit;
using Xunit.Abstractions;

namespace RealtimeAgents.MultiNode.Tests;

/// <summary>The chaos run, on a single Redis and on a Redis Cluster.</summary>
public abstract class ChaosTests(ITestOutputHelper output)
{
    /// <summary>True to run the deployment on a 3-master Redis Cluster.</summary>
    protected abstract bool OnRedisCluster { get; }

    private static readonly TimeSpan ChaosDuration = TimeSpan.FromSeconds(20);

    /// <summary>
    /// Clients submit, subscribe, late-join, drop their network and resume, at random, while hub
    /// nodes are killed and restarted and the backplane's subscriber connections are killed. A
    /// checker then demands that every client's view of every task it watched is exactly 1..n.
    /// The seed is printed; CHAOS_SEED replays a run.
    /// </summary>
    [Fact]
    public async Task UnderRandomDisturbance_EveryClientsViewOfEveryTask_IsExactly1ToN()
    {
        int seed = int.TryParse(Environment.GetEnvironmentVariable("CHAOS_SEED"), CultureInfo.InvariantCulture, out int s) ? s : 20261121;
        output.WriteLine($"chaos seed = {seed} (replay with CHAOS_SEED={seed})");
        var rng = new Random(seed);
        await using var cluster = await Cluster.StartAsync(hubs: 2, workers: 2, OnRedisCluster);
        var clients = new List<RealtimeAgentsClient>();
        for (int i = 0; i < 6; i++)
        {
            clients.Add(await cluster.ConnectAsync(i % 2 == 0 ? ["hub-a", "hub-b"] : ["hub-b", "hub-a"]));
        }

        var tasks = new List<string>();
        var views = new List<(int Client, string Task, TaskSubscription Sub, Task<List<AgentEvent>> Events)>();
        var watched = new HashSet<(int, string)>();
        var restarts = new List<Task>();
        var counts = new Dictionary<string, int>();
        int nodeKills = 0;

        async Task WatchAsync(int c, string taskId)
        {
            if (!watched.Add((c, taskId))) return;
            var sub = await clients[c].SubscribeAsync(taskId).WaitAsync(TimeSpan.FromSeconds(20));
            views.Add((c, taskId, sub, sub.CollectAsync(timeoutMs: 120_000)));
        }

        void Count(string what) => counts[what] = counts.GetValueOrDefault(what) + 1;

        var deadline = DateTime.UtcNow + ChaosDuration;
        while (DateTime.UtcNow < deadline)
        {
            int roll = rng.Next(100);
            try
            {
                if (roll < 35 || tasks.Count == 0)
                {
                    int c = rng.Next(clients.Count);
                    var t = await clients[c].SubmitAsync(Cluster.Demo(new
                    {
                        tokens = rng.Next(20, 150), tokenIntervalMs = rng.Next(5, 20), firstTokenDelayMs = rng.Next(0, 50),
                        toolCalls = rng.Next(0, 3), toolDelayMs = 20,
                    })).WaitAsync(TimeSpan.FromSeconds(20));
                    tasks.Add(t.TaskId);
                    await WatchAsync(c, t.TaskId);
                    if (rng.Next(2) == 0) await WatchAsync(rng.Next(clients.Count), t.TaskId);
                    Count("submit");
                }
                else if (roll < 55)
                {
                    clients[rng.Next(clients.Count)].ConnectionFactory.AbortConnections();
                    Count("network drop");
                }
                else if (roll < 65)
                {
                    await cluster.KillPubSubConnectionsAsync();
                    Count("backplane kill");
                }
                else if (roll < 70 && nodeKills < 2 && restarts.All(r => r.IsCompleted))
                {
                    string hub = cluster.HubNames[nodeKills++ % 2];
                    cluster.KillHub(hub);
                    restarts.Add(Task.Run(async () =>
                    {
                        await Task.Delay(rng.Next(500, 1500));
                        await cluster.StartHubAsync(hub);
                    }));
                    Count("hub node kill");
                }
                else
                {
                    await WatchAsync(rng.Next(clients.Count), tasks[rng.Next(tasks.Count)]);
                    Count("late join");
                }
            }
            catch (Exception ex) when (ex is Microsoft.AspNetCore.SignalR.HubException or InvalidOperationException or TimeoutException
                                           or System.IO.IOException or System.Net.WebSockets.WebSocketException)
            {
                // A call made while its connection was down fails; the SDK resumes subscriptions, not calls.
                Count("call failed during disturbance");
            }
            await Task.Delay(rng.Next(100, 400));
        }
        await Task.WhenAll(restarts).DefaultTimeout(60_000);

        long lost = 0, duplicated = 0, complete = 0;
        foreach (var (c, taskId, sub, events) in views)
        {
            var got = await events.DefaultTimeout(150_000);
            long n = got[^1].Seq;
            var seqs = got.Select(e => e.Seq).ToList();
            lost += n - seqs.Distinct().Count();
            duplicated += seqs.Count - seqs.Distinct().Count() + sub.DuplicatesDropped;
            Assert.Equal(Enumerable.Range(1, (int)n).Select(i => (long)i), seqs);
            Assert.True(EventKinds.IsTerminal(got[^1].Kind), $"client {c}, task {taskId}: ended with {got[^1].Kind}");
            complete++;
        }
        output.WriteLine($"actions: {string.Join(", ", counts.OrderBy(k => k.Key).Select(k => $"{k.Key} {k.Value}"))}");
        output.WriteLine($"{views.Count} views of {tasks.Count} tasks checked: {complete} complete, {lost} events lost, {duplicated} duplicated");
        Assert.Equal(0, lost);
        Assert.Equal(0, duplicated);
    }
}

[Collection("chaos")]
public sealed class ChaosOnSingleRedisTests(ITestOutputHelper output) : ChaosTests(output)
{
    protected override bool OnRedisCluster => false;
}

[Collection("chaos")]
public sealed class ChaosOnRedisClusterTests(ITestOutputHelper output) : ChaosTests(output)
{
    protected override bool OnRedisCluster => true;
}
