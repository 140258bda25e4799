using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using RealtimeAgents.Contracts;
using RealtimeAgents.LoadTests.Metrics;
using RealtimeAgents.Server;
using RealtimeAgents.Testing;
using Xunit;

namespace RealtimeAgents.LoadTests.Tests;

/// <summary>The real server, embedded mode, on a free loopback port.</summary>
public sealed class EmbeddedServer : IAsyncLifetime
{
    private WebApplication? _app;

    public Uri HubUrl { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var builder = RealtimeAgentsServer.CreateBuilder(["--urls", "http://127.0.0.1:0", "--environment", "Testing"],
            b => b.Logging.SetMinimumLevel(LogLevel.Warning));
        _app = RealtimeAgentsServer.Build(builder);
        await _app.StartAsync().DefaultTimeout(20_000);
        string address = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        HubUrl = new Uri(new Uri(address), HubMethods.Path);
    }

    public async Task DisposeAsync()
    {
        if (_app is null) return;
        await _app.StopAsync().DefaultTimeout(20_000);
        await _app.DisposeAsync().AsTask().DefaultTimeout();
    }
}

/// <summary>Small runs of each scenario against a real server: the harness measures what it says it does.</summary>
public sealed class ScenarioTests(EmbeddedServer server) : IClassFixture<EmbeddedServer>
{
    private Settings Small(string scenario) => Scenarios.Defaults(scenario, new Settings { Scenario = scenario, Urls = [server.HubUrl] }) with
    {
        Warmup = TimeSpan.Zero,
        Duration = TimeSpan.FromSeconds(20),
        TaskTimeout = TimeSpan.FromSeconds(15),
        Tokens = 8,
        TokenIntervalMs = 5,
        FirstTokenDelayMs = 0,
        ToolCalls = 0,
        Reasoning = false,
    };

    private static async Task<Snapshot> RunAsync(Settings settings)
    {
        var rec = new Recorder();
        await Scenarios.RunAsync(settings, rec, new RunProgress(), CancellationToken.None).DefaultTimeout(45_000);
        return rec.Snapshot();
    }

    private static void AssertComplete(Snapshot run)
    {
        foreach (string counter in new[] { MetricNames.Gaps, MetricNames.Duplicates, MetricNames.Reorders, MetricNames.Incomplete })
        {
            Assert.Equal(0, run.Counters.GetValueOrDefault(counter));
        }
        Assert.All(run.Steps, s => Assert.True(s.Value.FailCount == 0, $"{s.Key}: {string.Join(", ", s.Value.Reasons)}"));
    }

    [Fact]
    public async Task TheClosedModel_RunsEachUsersIterations_AndMeasuresEveryTaskFromSubmitToTerminal()
    {
        // Inter-token gaps are measured on live tokens only (not on ones written before the submit
        // returned); the first token waits 500 ms so that on a loaded machine every token is live.
        var run = await RunAsync(Small("ttft") with { Users = 3, Iterations = 2, FirstTokenDelayMs = 500 });
        AssertComplete(run);
        Assert.Equal(6, run.Steps["stream"].OkCount);
        Assert.Equal(3, run.Histograms[MetricNames.Connect].Count);
        foreach (string metric in new[] { MetricNames.Submit, MetricNames.Subscribe, MetricNames.Ttft, MetricNames.TtftOverhead, MetricNames.EndToEnd })
        {
            Assert.Equal(6, run.Histograms[metric].Count);
        }
        Assert.Equal(6 * 7, run.Histograms[MetricNames.InterToken].Count);
        Assert.True(run.Histograms[MetricNames.Delivery].Count > 0);
        Assert.True(run.Histograms[MetricNames.Ttft].Min <= run.Histograms[MetricNames.EndToEnd].Min);
    }

    [Fact]
    public async Task TheOpenModel_StartsTasksAtTheRate_WhateverTheirDuration()
    {
        var run = await RunAsync(Small("ttft") with { Model = LoadModel.Open, Rate = 20, Users = 2, Duration = TimeSpan.FromSeconds(1) });
        AssertComplete(run);
        Assert.Equal(20, run.Steps["stream"].OkCount);
        Assert.Equal(20, run.Histograms[MetricNames.Ttft].Count);
    }

    [Fact]
    public async Task Interrupts_EndEveryTaskWithTaskCancelled_AndAreTimedToIt()
    {
        var run = await RunAsync(Small("interrupt") with { Users = 2, Iterations = 1, Tokens = 1000, TokenIntervalMs = 20, InterruptAfter = TimeSpan.FromMilliseconds(100) });
        AssertComplete(run);
        Assert.Equal(2, run.Steps["interrupt"].OkCount);
        Assert.Equal(2, run.Histograms[MetricNames.Interrupt].Count);
    }

    [Fact]
    public async Task DroppedConnections_ResumeWithoutGaps_AndTheBacklogIsReplayedInFull()
    {
        var run = await RunAsync(Small("resume") with
        {
            Users = 2, Iterations = 1, Tokens = 100, TokenIntervalMs = 10, DropAfter = TimeSpan.FromMilliseconds(100), Backlog = 500, Replays = 2,
        });
        AssertComplete(run);
        Assert.Equal(2, run.Steps["stream"].OkCount);
        Assert.Equal(2, run.Histograms[MetricNames.Reconnect].Count);
        Assert.Equal(2, run.Histograms[MetricNames.Resume].Count);
        Assert.Equal(2, run.Histograms[MetricNames.BacklogReplay].Count);
        Assert.True(run.Gauges["backlog.events_per_s"].Value > 0);
        Assert.True(run.Gauges["backlog.events"].Value > 500);
    }

    [Fact]
    public async Task Fanout_DeliversEachTaskToEveryViewer()
    {
        var run = await RunAsync(Small("fanout") with { Viewers = 5, Iterations = 2, FirstTokenDelayMs = 200 });
        AssertComplete(run);
        Assert.Equal(10, run.Steps["view"].OkCount);
        Assert.Equal(10, run.Histograms[MetricNames.Ttft].Count);
    }
}
