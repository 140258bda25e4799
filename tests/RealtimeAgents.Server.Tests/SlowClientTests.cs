using System.Collections.Concurrent;
using Microsoft.AspNetCore.SignalR.Client;
using RealtimeAgents.Conformance;
using RealtimeAgents.Contracts;
using RealtimeAgents.Core.Runtime;
using RealtimeAgents.Testing;
using Xunit;
using Xunit.Abstractions;

namespace RealtimeAgents.Server.Tests;

public sealed class SlowClientFixture : ServerFixture
{
    protected override IEnumerable<string> ExtraArgs =>
        ["--RealtimeAgents:Hub:SlowClientTimeout", "00:00:03", "--RealtimeAgents:Hub:MaxBufferedBytes", "65536"];
}

/// <summary>
/// The slow-client tests measure this process's heap, so they run alone: a parallel test class
/// (the cut-off test below keeps 100,000 events in its log) would count against the bound.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SlowClientCollection
{
    public const string Name = "slow clients (run alone)";
}

[Collection(SlowClientCollection.Name)]
public sealed class SlowClientTests(SlowClientFixture server, ITestOutputHelper output) : IClassFixture<SlowClientFixture>
{
    // Stated bounds. Memory catches unbounded buffering of the stalled client's events. The
    // other client's delivery is bounded well below the slow-client timeout: had its events queued
    // behind the stalled connection, the first of them would wait for the server to cut that
    // connection off, about 3 s. Its p50/p99 are printed, not asserted: speed belongs to the
    // benchmarks.
    private const long MemoryBoundBytes = 64L * 1024 * 1024;
    private const double OtherClientsMaxBoundMs = 2_000;

    [Fact]
    public async Task ClientThatStopsReading_WhileItsTaskStreams10000Events_StaysBounded_AndLaterGetsEverything()
    {
        var slow = await server.ConnectAsync();
        var fast = await server.ConnectAsync();
        long baseline = GC.GetTotalMemory(forceFullCollection: true);

        var big = await slow.SubmitAsync(ServerFixture.Demo(new { tokens = 10_000, tokenIntervalMs = 0, firstTokenDelayMs = 0, toolCalls = 0, reasoning = false })).DefaultTimeout();
        var slowSub = await slow.SubscribeAsync(big.TaskId).DefaultTimeout();
        slow.ConnectionFactory.PauseReceiving();

        // Meanwhile another client's task streams at 100 tokens/s; its delivery must not suffer.
        var other = await fast.SubmitAsync(ServerFixture.Demo(new { tokens = 200, tokenIntervalMs = 10, firstTokenDelayMs = 0, toolCalls = 0, reasoning = false })).DefaultTimeout();
        // When each event reached this process (unix ms, like Ts), stamped as it arrives; the first arrival counts.
        var receivedAt = new ConcurrentDictionary<long, double>();
        using var stamp = fast.Connection.On<AgentEvent>(HubMethods.Event, ev =>
        {
            if (ev.TaskId == other.TaskId) receivedAt.TryAdd(ev.Seq, (DateTime.UtcNow - DateTime.UnixEpoch).TotalMilliseconds);
        });
        var otherSub = await fast.SubscribeAsync(other.TaskId).DefaultTimeout();
        var latencies = new List<double>();
        var otherEvents = await otherSub.CollectAsync(until: null, timeoutMs: 30_000);
        foreach (var e in otherEvents) latencies.Add(receivedAt[e.Seq] - e.Ts);
        StreamAssert.CompleteTask(otherEvents);

        // The big task has finished writing while the slow client read nothing.
        await Eventually.TrueAsync(async () => (await fast.GetTaskAsync(big.TaskId)).Status == TaskStates.Completed,
            30_000, "the big task did not complete");
        long during = GC.GetTotalMemory(forceFullCollection: true) - baseline;
        latencies.Sort();
        double p99 = latencies[(int)(latencies.Count * 0.99)];
        double max = latencies[^1];
        output.WriteLine($"memory growth while stalled: {during / 1024.0 / 1024.0:F1} MiB (bound {MemoryBoundBytes / 1024 / 1024} MiB); other client's delivery p50 {latencies[latencies.Count / 2]:F1} ms, p99 {p99:F1} ms, max {max:F1} ms (bound {OtherClientsMaxBoundMs} ms)");
        Assert.True(during < MemoryBoundBytes, $"node memory grew {during} bytes while a client stalled");
        Assert.True(max < OtherClientsMaxBoundMs, $"another client's event waited {max:F1} ms: it queued behind the stalled connection");

        slow.ConnectionFactory.ResumeReceiving();
        var all = await slowSub.CollectAsync(timeoutMs: 60_000);
        StreamAssert.CompleteTask(all);
        Assert.Equal(10_000, all.Count(e => e.Kind == EventKinds.TextDelta));
    }
}

public sealed class SlowClientCutoffFixture : ServerFixture
{
    protected override IEnumerable<string> ExtraArgs =>
    [
        "--RealtimeAgents:Hub:SlowClientTimeout", "00:00:02",
        "--RealtimeAgents:EventLog:MaxLength", "150000",
    ];
}

[Collection(SlowClientCollection.Name)]
public sealed class SlowClientCutoffTests(SlowClientCutoffFixture server) : IClassFixture<SlowClientCutoffFixture>
{
    [Fact]
    public async Task ClientStalledLongerThanTheTimeout_IsDisconnected_AndResumesFromItsCursorWithEverything()
    {
        // More than loopback's socket buffers hold, so the server's sends really stall.
        var slow = await server.ConnectAsync();
        var big = await slow.SubmitAsync(ServerFixture.Demo(new { tokens = 100_000, tokenIntervalMs = 0, firstTokenDelayMs = 0, toolCalls = 0, reasoning = false })).DefaultTimeout();
        var sub = await slow.SubscribeAsync(big.TaskId).DefaultTimeout();
        slow.ConnectionFactory.PauseReceiving();
        await Task.Delay(TimeSpan.FromSeconds(5));
        slow.ConnectionFactory.ResumeReceiving();
        var all = await sub.CollectAsync(timeoutMs: 90_000);
        StreamAssert.CompleteTask(all);
        Assert.Equal(100_000, all.Count(e => e.Kind == EventKinds.TextDelta));
        Assert.True(sub.Resumes >= 1, "the server disconnected the stalled client, which resumed from its cursor");
        Assert.True(slow.Restarts >= 1, "the SDK restarted the connection the server closed");
        Assert.Equal(0, sub.DuplicatesDropped);
    }
}
