using System.Buffers;
using System.Text;
using System.Text.Json.Serialization;
using BenchmarkDotNet.Attributes;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Protocol;
using Microsoft.Extensions.Options;
using RealtimeAgents.Contracts;
using RealtimeAgents.Core;
using RealtimeAgents.Core.Relay;
using RealtimeAgents.Server.Hubs;

namespace RealtimeAgents.EventPathBenchmarks;

/// <summary>
/// A hub node's side of one live text.delta with <see cref="Subscribers"/> local JSON-protocol
/// subscribers: the message as the append script published it arrives from Redis, becomes the
/// node's event, and each subscriber's relay checks its order and writes the event's frame to
/// its connection (here a buffer standing in for the connection's pipe). No sockets: what is
/// measured is the node's own work per event.
/// </summary>
[MemoryDiagnoser]
public class FanOutBenchmarks
{
    // Distinct published messages, cycled through: each invocation is the next token.
    private byte[][] _published = null!;
    private int _next;
    private EventRecord? _previous; // as the live feed keeps it
    private IHubProtocol _json = null!;
    private SequenceTracker[] _trackers = null!;
    private readonly ArrayBufferWriter<byte> _pipe = new(64 * 1024);

    [Params(1, 100)]
    public int Subscribers { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var options = new JsonHubProtocolOptions();
        options.PayloadSerializerOptions.DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull;
        options.PayloadSerializerOptions.TypeInfoResolverChain.Insert(0, ContractsJsonContext.Default);
        _json = new DepthLimitedJsonHubProtocol(Options.Create(options));
        _trackers = new SequenceTracker[Subscribers];
        for (int i = 0; i < Subscribers; i++) _trackers[i] = new SequenceTracker(StreamId.Zero, 0);
        _published = new byte[4096][];
        for (int i = 0; i < _published.Length; i++) _published[i] = Published(i + 1);
    }

    // What append_event.lua sends for a task's event with this seq.
    private static byte[] Published(long seq) =>
        Encoding.UTF8.GetBytes("{\"taskId\":\"tsk_0123456789abcdef\",\"threadId\":\"thr_0123456789abcdef\",\"seq\":" + seq +
            ",\"id\":\"1764800000000-" + seq + "\",\"kind\":\"text.delta\",\"ts\":1764800000000.123,\"data\":{\"messageId\":\"msg_0123456789_1_1\",\"delta\":\" token\"}}");

    /// <summary>
    /// One event to every subscriber. (When the cycle wraps, the trackers see an old seq: the
    /// verdict is only summed, so every invocation does the same work.)
    /// </summary>
    [Benchmark]
    public long DeliverOneEvent()
    {
        var bytes = _published[_next++ & (_published.Length - 1)];
        var ev = EventRecord.Parse(bytes, _previous);
        _previous = ev;
        _pipe.ResetWrittenCount();
        long verdicts = 0;
        foreach (var tracker in _trackers)
        {
            verdicts += (long)tracker.Classify(ev);
            // What a write to one local connection costs: the shared frame of this protocol, copied into its pipe.
            _pipe.Write(EventFrames.For(ev).GetSerializedMessage(_json).Span);
            tracker.Advance(ev);
        }
        return _pipe.WrittenCount + verdicts;
    }
}
