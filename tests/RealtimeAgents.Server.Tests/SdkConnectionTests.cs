using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using RealtimeAgents.Client;
using RealtimeAgents.Conformance;
using RealtimeAgents.Contracts;
using RealtimeAgents.Testing;
using Xunit;

namespace RealtimeAgents.Server.Tests;

/// <summary>The .NET SDK's connection: negotiate and its fallback transports, in both protocols.</summary>
public sealed class SdkTransportTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    [Theory]
    [InlineData(HttpTransportType.ServerSentEvents, false)]
    [InlineData(HttpTransportType.LongPolling, false)]
    [InlineData(HttpTransportType.LongPolling, true)] // SSE carries text only, so no MessagePack over it
    public async Task WithWebSocketsDisabled_NegotiateFallsBack_AndATaskStreamsToTheEndGapless(HttpTransportType transport, bool messagePack)
    {
        var client = await server.ConnectAsync(new() { Transports = transport, UseMessagePack = messagePack });
        var task = await client.SubmitAsync(ServerFixture.Demo(new { tokens = 60, tokenIntervalMs = 2, firstTokenDelayMs = 0, toolDelayMs = 5 })).DefaultTimeout();
        var events = await (await client.SubscribeAsync(task.TaskId).DefaultTimeout()).CollectAsync();
        StreamAssert.CompleteTask(events);
        Assert.Equal(60, events.Count(e => e.Kind == EventKinds.TextDelta));
        Assert.Equal(StreamAssert.Text(events), events[^1].DataAs<TaskCompletedData>().Output);
    }

    [Fact]
    public async Task SkipNegotiation_ConnectsAWebSocketStraightToTheHub()
    {
        var client = await server.ConnectAsync(new() { SkipNegotiation = true, Transports = HttpTransportType.WebSockets });
        var task = await client.SubmitAsync(ServerFixture.Demo()).DefaultTimeout();
        StreamAssert.CompleteTask(await (await client.SubscribeAsync(task.TaskId).DefaultTimeout()).CollectAsync());
    }
}

/// <summary>
/// A real SignalR hub on Kestrel that plays a server whose resume could not replay: asked to resume
/// from a cursor, it first sends a live event further on (as the relay's live feed can), and only
/// then answers recovered: false, the frames on the wire in that order and apart in time.
/// </summary>
public sealed class UnrecoverableResumeHub : Hub
{

    public const string TaskId = "t00000000000000000000000000000001";
    /// <summary>A task whose resume does recover: 3, 4, 5 before the result, then 5 again and the terminal 6.</summary>
    public const string RecoverableTaskId = "t00000000000000000000000000000002";

    private static AgentEvent Event(string taskId, long seq) => new()
    {
        TaskId = taskId, ThreadId = "th0000000000000000000000000000001", Seq = seq, Id = $"{1000 + seq}-0",
        Kind = seq == 6 ? EventKinds.TaskCompleted : EventKinds.TextDelta, Ts = 1,
        Data = JsonSerializer.SerializeToElement(new { messageId = "m1", delta = $"d{seq}", output = "done" }),
    };

    /// <summary>A task whose first resume loses its connection (as at a node's shutdown); the resume after the reconnect recovers.</summary>
    public const string ConnectionLostTaskId = "t00000000000000000000000000000003";
    private static int s_connectionLostResumes;

    public async Task<SubscribeResult> Subscribe(string taskId, string? cursor)
    {
        if (cursor is null)
        {
            for (int seq = 1; seq <= 3; seq++) await Clients.Caller.SendAsync(HubMethods.Event, Event(taskId, seq));
            return new SubscribeResult(taskId, TaskStates.Running, true, "0-0", "1-0");
        }
        if (taskId == ConnectionLostTaskId && Interlocked.Increment(ref s_connectionLostResumes) % 2 == 1)
        {
            Context.Abort(); // the call fails with its connection; the client reconnects and resumes again
            await Task.Delay(500);
            throw new HubException("the connection is gone");
        }
        if (taskId == ConnectionLostTaskId)
        {
            for (int seq = 4; seq <= 5; seq++) await Clients.Caller.SendAsync(HubMethods.Event, Event(taskId, seq));
            var caller = Clients.Caller;
            _ = Task.Run(async () =>
            {
                await Task.Delay(100);
                await caller.SendAsync(HubMethods.Event, Event(taskId, 6));
            });
            return new SubscribeResult(taskId, TaskStates.Running, true, cursor, "1-0");
        }
        if (taskId == RecoverableTaskId)
        {
            for (int seq = 3; seq <= 5; seq++) await Clients.Caller.SendAsync(HubMethods.Event, Event(taskId, seq));
            await Task.Delay(300);
            var caller = Clients.Caller; // the hub instance is gone once the method returns; the proxy is not
            _ = Task.Run(async () =>
            {
                await Task.Delay(100);
                foreach (int seq in (int[])[5, 6]) await caller.SendAsync(HubMethods.Event, Event(taskId, seq));
            });
            return new SubscribeResult(taskId, TaskStates.Running, true, cursor, "1-0");
        }
        await Clients.Caller.SendAsync(HubMethods.Event, Event(taskId, 10));
        // The .NET client dispatches "on" handlers on a loop of their own, apart from invocation
        // results: a pause makes sure the event is handled before the result is, as it can be.
        await Task.Delay(300);
        return new SubscribeResult(taskId, TaskStates.Running, false, "1010-0", "1-0");
    }

    /// <summary>Ends the caller's subscription early, as the server does for a lagging client: the SDK resumes.</summary>
    public Task EndSubscription(string taskId) => Clients.Caller.SendAsync(HubMethods.SubscriptionEnded, new SubscriptionEnded(taskId, "lagging", "1003-0"));
}

public sealed class SdkResumeTests : IAsyncLifetime
{
    private WebApplication _app = null!;
    private Uri _hubUrl = null!;

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Services.AddSignalR()
            .AddJsonProtocol(o =>
            {
                o.PayloadSerializerOptions.DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull;
                o.PayloadSerializerOptions.TypeInfoResolverChain.Insert(0, ContractsJsonContext.Default);
            })
            .AddMessagePackProtocol(o => o.SerializerOptions = ContractsMessagePack.Options);
        _app = builder.Build();
        _app.MapHub<UnrecoverableResumeHub>("/hub");
        await _app.StartAsync().DefaultTimeout(20_000);
        _hubUrl = new Uri(new Uri(_app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First()), "/hub");
    }

    public async Task DisposeAsync()
    {
        await _app.StopAsync().DefaultTimeout(20_000);
        await _app.DisposeAsync().AsTask().DefaultTimeout();
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AResumeThatCannotRecover_DeliversNothingThatArrivedMeanwhile_ThenReportsTheLoss(bool messagePack)
    {
        await using var client = await RealtimeAgentsClient.ConnectAsync(_hubUrl, new() { UseMessagePack = messagePack }).DefaultTimeout();
        var sub = await client.SubscribeAsync(UnrecoverableResumeHub.TaskId).DefaultTimeout();
        var seen = new List<long>();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var reading = Task.Run(async () =>
        {
            await foreach (var ev in sub.ReadEventsAsync(cts.Token)) seen.Add(ev.Seq);
        });
        await client.Connection.InvokeAsync("EndSubscription", UnrecoverableResumeHub.TaskId).DefaultTimeout();
        await Assert.ThrowsAsync<SubscriptionLostException>(() => reading).DefaultTimeout();
        // Seq 10 came live while the resume was pending; with recovered: false it is not delivered
        // (a reader would see 3 → 10, a gap), only the loss is.
        Assert.Equal([1L, 2L, 3L], seen);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AResumeCutOffWithItsConnection_DoesNotHoldBackTheEventsOfTheResumeAfterTheReconnect(bool messagePack)
    {
        await using var client = await RealtimeAgentsClient.ConnectAsync(_hubUrl, new() { UseMessagePack = messagePack }).DefaultTimeout();
        var sub = await client.SubscribeAsync(UnrecoverableResumeHub.ConnectionLostTaskId).DefaultTimeout();
        Assert.Equal(3, (await sub.CollectAsync(until: e => e.Seq == 3)).Count);
        await client.Connection.InvokeAsync("EndSubscription", UnrecoverableResumeHub.ConnectionLostTaskId).DefaultTimeout();
        // The first resume dies with the connection; the one after the reconnect recovers 4, 5 and
        // the terminal 6. Before the fix the dead resume kept holding events back, for ever.
        var rest = await sub.CollectAsync(timeoutMs: 15_000);
        Assert.Equal([4L, 5L, 6L], rest.Select(e => e.Seq));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AResumeThatRecovers_DeliversWhatArrivedMeanwhile_InOrderAndOnce(bool messagePack)
    {
        await using var client = await RealtimeAgentsClient.ConnectAsync(_hubUrl, new() { UseMessagePack = messagePack }).DefaultTimeout();
        var sub = await client.SubscribeAsync(UnrecoverableResumeHub.RecoverableTaskId).DefaultTimeout();
        Assert.Equal(3, (await sub.CollectAsync(until: e => e.Seq == 3)).Count);
        await client.Connection.InvokeAsync("EndSubscription", UnrecoverableResumeHub.RecoverableTaskId).DefaultTimeout();
        var rest = await sub.CollectAsync(timeoutMs: 10_000);
        Assert.Equal([4L, 5L, 6L], rest.Select(e => e.Seq));
        Assert.Equal(1, sub.Resumes);
        Assert.Equal(2, sub.DuplicatesDropped);
    }
}
