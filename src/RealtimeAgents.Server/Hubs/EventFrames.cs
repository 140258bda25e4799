using System.Buffers;
using System.Text.Json;
using MessagePack;
using MessagePack.Formatters;
using MessagePack.Resolvers;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Protocol;
using RealtimeAgents.Contracts;
using RealtimeAgents.Core;

namespace RealtimeAgents.Server.Hubs;

/// <summary>
/// How the hub's protocols write an <see cref="EventRecord"/> sent as a hub method argument.
/// JSON: the record's own JSON bytes go into the frame as they are (no parse, no serializer).
/// MessagePack: the record's MessagePack image, made once per record on this node and then
/// copied into each subscriber's frame.
/// </summary>
internal static class EventFrames
{
    // The end of the arguments, of the message, and the record separator of SignalR's JSON protocol.
    private static readonly byte[] Suffix = [(byte)']', (byte)'}', 0x1e];
    private static readonly byte[] EventPrefix = Prefix(HubMethods.Event);
    private static readonly object MessagePackImage = new();
    private static readonly object HubMessage = new();

    /// <summary>
    /// The "event" invocation of a record, shared by every local subscriber: each protocol's frame
    /// is made the first time a connection speaking it needs one, then copied to the others.
    /// </summary>
    public static SerializedHubMessage For(EventRecord record) =>
        record.Encoded(HubMessage, static r => new SerializedHubMessage(new InvocationMessage(HubMethods.Event, [r])));

    /// <summary>
    /// Writes the JSON protocol's frame of an invocation that carries one event and nothing else
    /// a frame can hold (no invocation id, headers or streams). False for any other message.
    /// </summary>
    public static bool TryWriteJson(HubMessage message, IBufferWriter<byte> output)
    {
        if (EventOnly(message) is not var (prefix, json)) return false;
        int length = prefix.Length + json.Length + Suffix.Length;
        Frame(prefix, json.Span, output.GetSpan(length));
        output.Advance(length);
        return true;
    }

    /// <summary>The same frame as one array of its exact size, or null for any other message.</summary>
    public static byte[]? TryGetJson(HubMessage message)
    {
        if (EventOnly(message) is not var (prefix, json)) return null;
        var frame = new byte[prefix.Length + json.Length + Suffix.Length];
        Frame(prefix, json.Span, frame);
        return frame;
    }

    private static void Frame(byte[] prefix, ReadOnlySpan<byte> json, Span<byte> destination)
    {
        prefix.CopyTo(destination);
        json.CopyTo(destination[prefix.Length..]);
        Suffix.CopyTo(destination[(prefix.Length + json.Length)..]);
    }

    private static (byte[] Prefix, ReadOnlyMemory<byte> Json)? EventOnly(HubMessage message)
    {
        if (message is not InvocationMessage { InvocationId: null, Arguments: [EventRecord record] } invocation
            || invocation.GetType() != typeof(InvocationMessage)
            || invocation.Headers is { Count: > 0 } || invocation.StreamIds is { Length: > 0 })
        {
            return null;
        }
        return (invocation.Target == HubMethods.Event ? EventPrefix : Prefix(invocation.Target), record.Json);
    }

    /// <summary>The MessagePack options of the hub: the contract types, and events written from their cached image.</summary>
    public static MessagePackSerializerOptions MessagePackOptions { get; } = ContractsMessagePack.Options.WithResolver(
        CompositeResolver.Create([new EventRecordFormatter()], [ContractsMessagePack.Resolver, StandardResolver.Instance]));

    private static byte[] Prefix(string target) =>
        [.. "{\"type\":1,\"target\":"u8, .. JsonSerializer.SerializeToUtf8Bytes(target, ContractsJsonContext.Default.String), .. ",\"arguments\":["u8];

    private sealed class EventRecordFormatter : IMessagePackFormatter<EventRecord>
    {
        public void Serialize(ref MessagePackWriter writer, EventRecord value, MessagePackSerializerOptions options) =>
            writer.WriteRaw(value.Encoded(MessagePackImage, static r => ContractsMessagePack.FromJson(r.Json)));

        public EventRecord Deserialize(ref MessagePackReader reader, MessagePackSerializerOptions options) =>
            throw new NotSupportedException("The hub sends events; it never reads one.");
    }
}
