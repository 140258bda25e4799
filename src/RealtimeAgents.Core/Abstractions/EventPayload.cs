using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace RealtimeAgents.Core;

/// <summary>
/// Encodes an event's payload to the UTF-8 JSON the log keeps and clients receive as it is. Strings
/// are escaped as SignalR's JSON protocol escapes them (only what JSON requires), so a JSON client
/// reads the same text whether the hub passed the bytes through or a serializer wrote them.
/// </summary>
public static class EventPayload
{
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    [ThreadStatic] private static ArrayBufferWriter<byte>? t_buffer;
    [ThreadStatic] private static Utf8JsonWriter? t_writer;

    /// <summary>The payload's bytes: a new array, the caller's to keep.</summary>
    public static byte[] Encode<T>(T data, JsonTypeInfo<T> type)
    {
        var buffer = t_buffer ??= new ArrayBufferWriter<byte>(256);
        var writer = t_writer ??= new Utf8JsonWriter(buffer, WriterOptions);
        try
        {
            JsonSerializer.Serialize(writer, data, type);
            writer.Flush();
            return buffer.WrittenSpan.ToArray();
        }
        finally
        {
            writer.Reset(buffer);
            buffer.ResetWrittenCount();
            // A huge payload does not stay pinned to the thread.
            if (buffer.Capacity > 64 * 1024) t_buffer = null;
            if (t_buffer is null) t_writer = null;
        }
    }

    /// <summary>Writes a whole event (the wire shape) with the same escaping; used where no published bytes exist.</summary>
    internal static Utf8JsonWriter NewWriter(IBufferWriter<byte> output) => new(output, WriterOptions);
}
