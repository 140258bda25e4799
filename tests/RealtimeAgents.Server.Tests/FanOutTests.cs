using System.Buffers;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Protocol;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using RealtimeAgents.Conformance;
using RealtimeAgents.Contracts;
using RealtimeAgents.Core;
using RealtimeAgents.Testing;
using Xunit;

namespace RealtimeAgents.Server.Tests;

/// <summary>
/// A hub protocol, counting the distinct events it writes: each is one record whose encoding for
/// this protocol (the JSON bytes, the MessagePack image) is made once, however many connections
/// it is written to.
/// </summary>
public sealed class CountingProtocol(IHubProtocol inner) : IHubProtocol
{
    private readonly HashSet<EventRecord> _events = new(ReferenceEqualityComparer.Instance);

    public int EventSerializations
    {
        get { lock (_events) return _events.Count; }
    }
    public string Name => inner.Name;
    public int Version => inner.Version;
    public TransferFormat TransferFormat => inner.TransferFormat;
    public bool IsVersionSupported(int version) => inner.IsVersionSupported(version);
    public bool TryParseMessage(ref ReadOnlySequence<byte> input, IInvocationBinder binder,
        [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out HubMessage? message) =>
        inner.TryParseMessage(ref input, binder, out message);

    public void WriteMessage(HubMessage message, IBufferWriter<byte> output)
    {
        Count(message);
        inner.WriteMessage(message, output);
    }

    public ReadOnlyMemory<byte> GetMessageBytes(HubMessage message)
    {
        Count(message);
        return inner.GetMessageBytes(message);
    }

    private void Count(HubMessage message)
    {
        if (message is InvocationMessage { Target: HubMethods.Event, Arguments: [EventRecord record] })
        {
            lock (_events) _events.Add(record);
        }
    }
}

/// <summary>The server's two protocols, each configured as the server configures it, each counting.</summary>
public sealed class CountingProtocols(IOptions<JsonHubProtocolOptions> json, IOptions<MessagePackHubProtocolOptions> messagePack)
{
    public CountingProtocol Json { get; } = new(new Hubs.DepthLimitedJsonHubProtocol(json));
    public CountingProtocol MessagePack { get; } = new(new MessagePackHubProtocol(messagePack));
}

public sealed class CountingProtocolFixture : ServerFixture
{
    protected override void Configure(WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        // Registered after the server's own, so they win the protocol names "json" and "messagepack".
        builder.Services.AddSingleton<CountingProtocols>();
        builder.Services.AddSingleton<IHubProtocol>(sp => sp.GetRequiredService<CountingProtocols>().Json);
        builder.Services.AddSingleton<IHubProtocol>(sp => sp.GetRequiredService<CountingProtocols>().MessagePack);
    }
}

public sealed class FanOutTests(CountingProtocolFixture server) : IClassFixture<CountingProtocolFixture>
{
    [Fact]
    public async Task ManySubscribersOfOneTaskOnANode_InBothProtocols_ShareOneSerializationOfEachLiveEventPerProtocol()
    {
        const int viewers = 8;
        var clients = new List<RealtimeAgents.Client.RealtimeAgentsClient>();
        // Half of the viewers speak JSON, half MessagePack, all on this one node.
        for (int i = 0; i < viewers; i++) clients.Add(await server.ConnectAsync(new() { UseMessagePack = i % 2 == 1 }));
        // The task waits for an approval before its answer, so every viewer has joined live before
        // the answer starts, however slow the machine (a fixed delay was not enough on a loaded CI host).
        var task = await clients[0].SubmitAsync(ServerFixture.Demo(new
        {
            requireApproval = true, approvalTimeoutMs = 60_000, toolCalls = 1, toolDelayMs = 0,
            tokens = 40, tokenIntervalMs = 10, firstTokenDelayMs = 0, reasoning = false,
        })).DefaultTimeout();
        var first = await clients[0].SubscribeAsync(task.TaskId).DefaultTimeout();
        var head = await first.CollectAsync(e => e.Kind == EventKinds.Status && e.DataAs<StatusData>().Phase == StatusPhases.Waiting).DefaultTimeout();
        var pending = head.Single(e => e.Kind == EventKinds.ToolApproval).DataAs<ToolApprovalData>();
        var subs = new List<RealtimeAgents.Client.TaskSubscription>();
        foreach (var c in clients.Skip(1)) subs.Add(await c.SubscribeAsync(task.TaskId, Cursors.Live).DefaultTimeout());
        var protocols = server.Get<CountingProtocols>();
        int jsonBefore = protocols.Json.EventSerializations, messagePackBefore = protocols.MessagePack.EventSerializations;

        await clients[0].RespondToApprovalAsync(task.TaskId, pending.ToolCallId, true).DefaultTimeout();
        var views = (await Task.WhenAll(subs.Prepend(first).Select(s => s.CollectAsync())).DefaultTimeout(30_000)).ToList();
        int json = protocols.Json.EventSerializations - jsonBefore;
        int messagePack = protocols.MessagePack.EventSerializations - messagePackBefore;
        // Everything after the approval reached every viewer live: the same events, in order, to the end.
        var live = views[0].SkipWhile(e => e.Seq <= head[^1].Seq).ToList();
        StreamAssert.Contiguous(views[0], views[0][0].Seq);
        Assert.Equal(EventKinds.TaskCompleted, live[^1].Kind);
        Assert.True(live.Count(e => e.Kind == EventKinds.TextDelta) >= 40, $"the answer streamed live ({live.Count} events)");
        Assert.All(views.Skip(1), v => Assert.Equal(live.Select(e => e.Seq), v.Select(e => e.Seq)));
        // Once per event per protocol, not once per viewer (a viewer that healed from the log may add its own).
        Assert.True(json >= live.Count && json <= live.Count + viewers / 2,
            $"{json} JSON serializations for {live.Count} events to {viewers / 2} JSON viewers");
        Assert.True(messagePack >= live.Count && messagePack <= live.Count + viewers / 2,
            $"{messagePack} MessagePack serializations for {live.Count} events to {viewers / 2} MessagePack viewers");
    }
}
