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
        // The first token waits a second, so every viewer has joined live before the answer starts.
        var task = await clients[0].SubmitAsync(ServerFixture.Demo(new { tokens = 40, tokenIntervalMs = 10, firstTokenDelayMs = 1000, toolCalls = 0, reasoning = false })).DefaultTimeout();
        var subs = new List<RealtimeAgents.Client.TaskSubscription>();
        foreach (var c in clients) subs.Add(await c.SubscribeAsync(task.TaskId, Cursors.Live).DefaultTimeout());
        var protocols = server.Get<CountingProtocols>();
        int jsonBefore = protocols.Json.EventSerializations, messagePackBefore = protocols.MessagePack.EventSerializations;

        var views = await Task.WhenAll(subs.Select(s => s.CollectAsync())).DefaultTimeout(30_000);
        int json = protocols.Json.EventSerializations - jsonBefore;
        int messagePack = protocols.MessagePack.EventSerializations - messagePackBefore;
        int delivered = views.Sum(v => v.Count);
        // Live from "now": a viewer that joined a status event later than another starts later,
        // so each view is the tail of the longest one, ending with the terminal event.
        var longest = views.MaxBy(v => v.Count)!;
        Assert.All(views, v => Assert.Equal(longest.Skip(longest.Count - v.Count).Select(e => e.Seq), v.Select(e => e.Seq)));
        StreamAssert.Contiguous(longest, longest[0].Seq);
        Assert.Equal(EventKinds.TaskCompleted, longest[^1].Kind);
        Assert.True(delivered >= viewers * 40, $"each viewer saw the answer ({delivered} events delivered)");
        // Once per event per protocol, not once per viewer (a viewer that healed from the log may add its own).
        Assert.True(json >= views.Min(v => v.Count) && json <= longest.Count + viewers / 2,
            $"{json} JSON serializations for {longest.Count} events to {viewers / 2} JSON viewers");
        Assert.True(messagePack >= views.Min(v => v.Count) && messagePack <= longest.Count + viewers / 2,
            $"{messagePack} MessagePack serializations for {longest.Count} events to {viewers / 2} MessagePack viewers");
    }
}
