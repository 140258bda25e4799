using System.Buffers;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using MessagePack;
using MessagePack.Formatters;
using MessagePack.Resolvers;

namespace RealtimeAgents.Contracts;

/// <summary>
/// MessagePack for the wire types, for the SignalR MessagePack hub protocol on the server and in
/// the .NET SDK. Each contract type is written as the MessagePack image of its JSON (the same
/// camelCase names, nulls omitted), so a client decodes the same object whichever protocol it
/// speaks; a <see cref="JsonElement"/> (an event's <c>data</c>) becomes a real MessagePack
/// map, array or value, never a JSON string inside MessagePack.
/// </summary>
/// <remarks>
/// The mapping, both ways: object ⇄ map with string keys, array ⇄ array, string ⇄ str, an
/// integral number ⇄ int (the smallest encoding), any other number ⇄ float64, true/false ⇄
/// bool, null ⇄ nil. Read only: bin ⇄ a base64 string. Extension types, non-string map keys and
/// NaN/infinity are refused, as JSON cannot carry them.
/// </remarks>
public static class ContractsMessagePack
{
    /// <summary>Formatters for every type of <see cref="ContractsJsonContext"/> (except string).</summary>
    public static IFormatterResolver Resolver { get; } = new ContractResolver();

    /// <summary>
    /// The serializer options both ends give <c>AddMessagePackProtocol</c>: the contract types
    /// first, then MessagePack's standard resolver for primitives, with the untrusted-data guards on.
    /// </summary>
    public static MessagePackSerializerOptions Options { get; } = MessagePackSerializerOptions.Standard
        .WithResolver(CompositeResolver.Create(Resolver, StandardResolver.Instance))
        .WithSecurity(MessagePackSecurity.UntrustedData);

    /// <summary>
    /// The MessagePack image of a JSON value, by the mapping above: what a contract type holding
    /// this JSON would be written as (the hub uses it for events it holds as JSON bytes).
    /// </summary>
    public static byte[] FromJson(ReadOnlyMemory<byte> json)
    {
        using var document = JsonDocument.Parse(json);
        var buffer = new ArrayBufferWriter<byte>(json.Length);
        var writer = new MessagePackWriter(buffer);
        Write(ref writer, document.RootElement);
        writer.Flush();
        return buffer.WrittenSpan.ToArray();
    }

    private sealed class ContractResolver : IFormatterResolver
    {
        public IMessagePackFormatter<T>? GetFormatter<T>() => Cache<T>.Formatter;

        private static class Cache<T>
        {
            public static readonly IMessagePackFormatter<T>? Formatter =
                typeof(T) == typeof(string) || typeof(T).IsPrimitive ? null
                : ContractsJsonContext.Default.GetTypeInfo(typeof(T)) is JsonTypeInfo<T> info ? new JsonShapedFormatter<T>(info)
                : null;
        }
    }

    /// <summary>Writes a value as the MessagePack image of its JSON, and reads it back the same way.</summary>
    private sealed class JsonShapedFormatter<T>(JsonTypeInfo<T> info) : IMessagePackFormatter<T>
    {
        public void Serialize(ref MessagePackWriter writer, T value, MessagePackSerializerOptions options)
        {
            if (value is null)
            {
                writer.WriteNil();
                return;
            }
            if (value is JsonElement element)
            {
                Write(ref writer, element);
                return;
            }
            using var document = JsonSerializer.SerializeToDocument(value, info);
            Write(ref writer, document.RootElement);
        }

        public T Deserialize(ref MessagePackReader reader, MessagePackSerializerOptions options)
        {
            var buffer = new ArrayBufferWriter<byte>(256);
            using (var json = new Utf8JsonWriter(buffer))
            {
                Transcode(ref reader, json, options);
            }
            return JsonSerializer.Deserialize(buffer.WrittenSpan, info)!;
        }
    }

    private static void Write(ref MessagePackWriter writer, JsonElement element)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                int count = 0;
                foreach (var _ in element.EnumerateObject()) count++;
                writer.WriteMapHeader(count);
                foreach (var property in element.EnumerateObject())
                {
                    writer.Write(property.Name);
                    Write(ref writer, property.Value);
                }
                break;
            case JsonValueKind.Array:
                writer.WriteArrayHeader(element.GetArrayLength());
                foreach (var item in element.EnumerateArray()) Write(ref writer, item);
                break;
            case JsonValueKind.String:
                writer.Write(element.GetString());
                break;
            case JsonValueKind.Number:
                if (element.TryGetInt64(out long l)) writer.Write(l);
                else if (element.TryGetUInt64(out ulong u)) writer.Write(u);
                else writer.Write(element.GetDouble());
                break;
            case JsonValueKind.True:
                writer.Write(true);
                break;
            case JsonValueKind.False:
                writer.Write(false);
                break;
            default: // Null, and Undefined (a default JsonElement: no data)
                writer.WriteNil();
                break;
        }
    }

    private static void Transcode(ref MessagePackReader reader, Utf8JsonWriter json, MessagePackSerializerOptions options)
    {
        switch (reader.NextMessagePackType)
        {
            case MessagePackType.Map:
                options.Security.DepthStep(ref reader);
                int properties = reader.ReadMapHeader();
                json.WriteStartObject();
                for (int i = 0; i < properties; i++)
                {
                    if (reader.NextMessagePackType != MessagePackType.String)
                    {
                        throw new MessagePackSerializationException("A map key is not a string; JSON-shaped data has string keys only.");
                    }
                    json.WritePropertyName(reader.ReadString()!);
                    Transcode(ref reader, json, options);
                }
                json.WriteEndObject();
                reader.Depth--;
                break;
            case MessagePackType.Array:
                options.Security.DepthStep(ref reader);
                int items = reader.ReadArrayHeader();
                json.WriteStartArray();
                for (int i = 0; i < items; i++) Transcode(ref reader, json, options);
                json.WriteEndArray();
                reader.Depth--;
                break;
            case MessagePackType.String:
                json.WriteStringValue(reader.ReadString());
                break;
            case MessagePackType.Integer:
                if (reader.NextCode == MessagePackCode.UInt64) json.WriteNumberValue(reader.ReadUInt64());
                else json.WriteNumberValue(reader.ReadInt64());
                break;
            case MessagePackType.Float:
                double d = reader.ReadDouble();
                if (!double.IsFinite(d)) throw new MessagePackSerializationException("NaN and infinity have no JSON form.");
                json.WriteNumberValue(d);
                break;
            case MessagePackType.Boolean:
                json.WriteBooleanValue(reader.ReadBoolean());
                break;
            case MessagePackType.Nil:
                reader.ReadNil();
                json.WriteNullValue();
                break;
            case MessagePackType.Binary:
                json.WriteBase64StringValue(reader.ReadBytes()!.Value.ToArray());
                break;
            default:
                throw new MessagePackSerializationException($"MessagePack {reader.NextMessagePackType} values have no JSON form.");
        }
    }
}
