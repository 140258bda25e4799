using System.Buffers;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Protocol;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using RealtimeAgents.Conformance;
using RealtimeAgents.Contracts;
using RealtimeAgents.Testing;
using Xunit;

namespace RealtimeAgents.Server.Tests;

/// <summary>The JSON hub protocol, counting how often it serializes an "event" invocation.</summary>
public sealed class CountingJsonProtocol(IOptions<JsonHubProtocolOptions> options) : IHubProtocol
{
    private readonly JsonHubProtocol _json = new(options);
    private int _events;

    public int EventSerializations => Volatile.Read(ref _events);
    public string Name => _json.Name;
    public int Version => _json.Version;
    public TransferFormat TransferFormat => _json.TransferFormat;
    public bool IsVersionSupported(int version) => _json.IsVersionSupported(version);
    public bool TryParseMessage(ref ReadOnlySequence<byte> input, IInvocationBinder binder,
        [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out HubMessage? message) =>
        _json.TryParseMessage(ref input, binder, out message);

    public void WriteMessage(HubMessage message, IBufferWriter<byte> output)
    {
        Count(message);
        _json.WriteMessage(message, output);
    }

    public ReadOnlyMemory<byte> GetMessageBytes(HubMessage message)
    {
        Count(message);
        return _json.GetMessageBytes(message);
    }

    private void Count(HubMessage message)
    {
        if (message is InvocationMessage { Target: HubMethods.Event }) Interlocked.Increment(ref _events);
    }
}

public sealed class CountingProtocolFixture : ServerFixture
{
    protected override void Configure(WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddSingleton<CountingJsonProtocol>();
        builder.Services.AddSingleton<IHubProtocol>(sp => sp.GetRequiredService<CountingJsonProtocol>());
    }
}

public sealed class FanOutTests(CountingProtocolFixture server) : IClassFixture<CountingProtocolFixture>
{
    [Fact]
    public async Task ManySubscribersOfOneTaskOnANode_ShareOneSerializationOfEachLiveEvent()
    {
        const int viewers = 8;
        var clients = new List<RealtimeAgents.Client.RealtimeAgentsClient>();
        for (int i = 0; i < viewers; i++) clients.Add(await server.ConnectAsync());
        // The first token waits a second, so every viewer has joined live before the answer starts.
        var task = await clients[0].SubmitAsync(ServerFixture.Demo(new { tokens = 40, tokenIntervalMs = 10, firstTokenDelayMs = 1000, toolCalls = 0, reasoning = false })).DefaultTimeout();
        var subs = new List<RealtimeAgents.Client.TaskSubscription>();
        foreach (var c in clients) subs.Add(await c.SubscribeAsync(task.TaskId, Cursors.Live).DefaultTimeout());
        var protocol = server.Get<CountingJsonProtocol>();
        int before = protocol.EventSerializations;

        var views = await Task.WhenAll(subs.Select(s => s.CollectAsync())).DefaultTimeout(30_000);
        int serialized = protocol.EventSerializations - before;
        int delivered = views.Sum(v => v.Count);
        // Live from "now": a viewer that joined a status event later than another starts later,
        // so each view is the tail of the longest one, ending with the terminal event.
        var longest = views.MaxBy(v => v.Count)!;
        Assert.All(views, v => Assert.Equal(longest.Skip(longest.Count - v.Count).Select(e => e.Seq), v.Select(e => e.Seq)));
        StreamAssert.Contiguous(longest, longest[0].Seq);
        Assert.Equal(EventKinds.TaskCompleted, longest[^1].Kind);
        Assert.True(delivered >= viewers * 40, $"each viewer saw the answer ({delivered} events delivered)");
        // Once per event, not once per viewer (a viewer that healed from the log may add its own).
        Assert.True(serialized <= longest.Count + viewers, $"{serialized} serializations for {longest.Count} events to {viewers} viewers");
    }
}
