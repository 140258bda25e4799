using System.Buffers;
using System.Buffers.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using RealtimeAgents.Contracts;

namespace RealtimeAgents.Core;

/// <summary>
/// One event as the log stores and publishes it: a small header (task, thread, seq, id, kind,
/// ts), read once, and the payload as the UTF-8 JSON the agent context encoded. Nothing between
/// the agent and a JSON client's socket parses the payload again: the hub writes these bytes
/// into the client's frame as they are (see <see cref="Json"/>).
/// </summary>
/// <remarks>
/// Every live listener of a task on one process receives the same instance of each event (see
/// <see cref="IEventLog"/>), so an encoding made for one subscriber (a protocol's frame, an SSE
/// frame) is kept on the record with <see cref="Encoded{T}"/> and reused for the others.
/// </remarks>
public sealed class EventRecord
{
    private static readonly JsonReaderOptions ReaderOptions = new() { MaxDepth = 256 };
    private byte[]? _json;
    private ReadOnlyMemory<byte> _jsonMemory;
    private string? _idText;
    private AgentEvent? _agentEvent;
    private object?[]? _encodings; // key, value, key, value, …

    /// <summary>Creates a record; <paramref name="data"/> is kept, not copied.</summary>
    public EventRecord(string taskId, string threadId, long seq, StreamId id, string kind, double ts, ReadOnlyMemory<byte> data)
    {
        TaskId = taskId;
        ThreadId = threadId;
        Seq = seq;
        Id = id;
        Kind = kind;
        Ts = ts;
        Data = data;
    }

    /// <summary>The task.</summary>
    public string TaskId { get; }
    /// <summary>Its thread.</summary>
    public string ThreadId { get; }
    /// <summary>Position in the task's stream, from 1, without holes.</summary>
    public long Seq { get; }
    /// <summary>The stream entry id: the cursor after this event.</summary>
    public StreamId Id { get; }
    /// <summary>One of <see cref="EventKinds"/>.</summary>
    public string Kind { get; }
    /// <summary>Emit time, unix milliseconds with a fraction.</summary>
    public double Ts { get; }
    /// <summary>The payload as UTF-8 JSON; empty when the event has none.</summary>
    public ReadOnlyMemory<byte> Data { get; }

    /// <summary>True for the kinds that end a task.</summary>
    public bool IsTerminal => EventKinds.IsTerminal(Kind);

    /// <summary><see cref="Id"/> as text (the wire form of the cursor).</summary>
    public string IdText => _idText ??= Id.ToString();

    /// <summary>
    /// The whole event as the JSON clients receive it (<c>taskId, threadId, seq, id, kind, ts,
    /// data</c>): the bytes the log published when they came from it, otherwise put together
    /// once around <see cref="Data"/>.
    /// </summary>
    public ReadOnlyMemory<byte> Json
    {
        get
        {
            if (_json is null && _jsonMemory.IsEmpty) _json = Compose();
            return _json ?? _jsonMemory;
        }
    }

    /// <summary>Reads the payload as the record of this kind (see the *Data records of the contracts).</summary>
    /// <exception cref="InvalidOperationException">The event has no payload.</exception>
    public T DataAs<T>(JsonTypeInfo<T> type) where T : class =>
        Data.IsEmpty ? throw new InvalidOperationException($"event {Seq} of task {TaskId} has no data")
            : JsonSerializer.Deserialize(Data.Span, type) ?? throw new InvalidOperationException($"event {Seq} of task {TaskId} has no data");

    /// <summary>The event as the contract record, its payload parsed (once per record).</summary>
    public AgentEvent ToAgentEvent() => _agentEvent ??= new AgentEvent
    {
        TaskId = TaskId, ThreadId = ThreadId, Seq = Seq, Id = IdText, Kind = Kind, Ts = Ts,
        Data = Data.IsEmpty ? default : JsonSerializer.Deserialize(Data.Span, ContractsJsonContext.Default.JsonElement),
    };

    /// <summary>
    /// An encoding of this event made once and shared by every subscriber of this process:
    /// <paramref name="encode"/> runs the first time <paramref name="encoder"/> asks (rarely twice
    /// under a race, with the same result), later calls return what it made.
    /// </summary>
    public T Encoded<T>(object encoder, Func<EventRecord, T> encode) where T : class
    {
        ArgumentNullException.ThrowIfNull(encoder);
        ArgumentNullException.ThrowIfNull(encode);
        if (Find(Volatile.Read(ref _encodings), encoder) is T known) return known;
        var value = encode(this);
        while (true)
        {
            var current = Volatile.Read(ref _encodings);
            if (Find(current, encoder) is T raced) return raced;
            var next = new object?[(current?.Length ?? 0) + 2];
            current?.CopyTo(next, 0);
            next[^2] = encoder;
            next[^1] = value;
            if (Interlocked.CompareExchange(ref _encodings, next, current) == current) return value;
        }
    }

    private static object? Find(object?[]? encodings, object encoder)
    {
        if (encodings is null) return null;
        for (int i = 0; i < encodings.Length; i += 2)
        {
            if (ReferenceEquals(encodings[i], encoder)) return encodings[i + 1];
        }
        return null;
    }

    /// <summary>
    /// Reads an event in its wire shape (as append_event.lua publishes it): the header fields are
    /// read, the payload is sliced out without being parsed into objects, and the bytes are kept as
    /// <see cref="Json"/>. Strings equal to those of <paramref name="previous"/> (the same task's
    /// last event) and the kind names are reused rather than allocated again.
    /// </summary>
    /// <exception cref="JsonException">The bytes are not an event.</exception>
    public static EventRecord Parse(ReadOnlyMemory<byte> json, EventRecord? previous = null)
    {
        var reader = new Utf8JsonReader(json.Span, ReaderOptions);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) throw new JsonException("An event is a JSON object.");
        string? taskId = null, threadId = null, kind = null;
        StreamId? id = null;
        long seq = 0;
        double ts = 0;
        ReadOnlyMemory<byte> data = default;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("taskId"u8)) taskId = ReadString(ref reader, previous?.TaskId);
            else if (reader.ValueTextEquals("threadId"u8)) threadId = ReadString(ref reader, previous?.ThreadId);
            else if (reader.ValueTextEquals("kind"u8)) kind = ReadKind(ref reader);
            else if (reader.ValueTextEquals("id"u8)) id = ReadId(ref reader);
            else if (reader.ValueTextEquals("seq"u8)) { reader.Read(); seq = reader.GetInt64(); }
            else if (reader.ValueTextEquals("ts"u8)) { reader.Read(); ts = reader.GetDouble(); }
            else if (reader.ValueTextEquals("data"u8))
            {
                reader.Read();
                int start = (int)reader.TokenStartIndex;
                bool isNull = reader.TokenType == JsonTokenType.Null;
                reader.Skip();
                if (!isNull) data = json[start..(int)reader.BytesConsumed];
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }
        if (reader.TokenType != JsonTokenType.EndObject || taskId is null || id is null || kind is null)
        {
            throw new JsonException("The event lacks taskId, id or kind.");
        }
        return new EventRecord(taskId, threadId ?? "", seq, id.Value, kind, ts, data) { _jsonMemory = json };
    }

    private static string? ReadString(ref Utf8JsonReader reader, string? known)
    {
        reader.Read();
        return known is not null && reader.ValueTextEquals(known) ? known : reader.GetString();
    }

    private static string? ReadKind(ref Utf8JsonReader reader)
    {
        reader.Read();
        var kinds = EventKinds.All; // indexed: a foreach over the interface would allocate an enumerator per event
        for (int i = 0; i < kinds.Count; i++)
        {
            if (reader.ValueTextEquals(kinds[i])) return kinds[i];
        }
        return reader.GetString();
    }

    // "ms-n" straight from the UTF-8 bytes (ids never need escaping).
    private static StreamId ReadId(ref Utf8JsonReader reader)
    {
        reader.Read();
        if (reader.TokenType == JsonTokenType.String && !reader.ValueIsEscaped)
        {
            var text = reader.ValueSpan;
            int dash = text.IndexOf((byte)'-');
            if (dash > 0 && Utf8Parser.TryParse(text[..dash], out long ms, out int used) && used == dash
                && Utf8Parser.TryParse(text[(dash + 1)..], out long n, out used) && used == text.Length - dash - 1 && ms >= 0 && n >= 0)
            {
                return new StreamId(ms, n);
            }
        }
        return StreamId.TryParse(reader.GetString(), out var id) ? id : throw new JsonException("The event's id is not a stream id.");
    }

    private byte[] Compose()
    {
        var buffer = new ArrayBufferWriter<byte>(Data.Length + 160);
        using (var writer = EventPayload.NewWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("taskId"u8, TaskId);
            writer.WriteString("threadId"u8, ThreadId);
            writer.WriteNumber("seq"u8, Seq);
            writer.WriteString("id"u8, IdText);
            writer.WriteString("kind"u8, Kind);
            writer.WriteNumber("ts"u8, Ts);
            writer.WritePropertyName("data"u8);
            if (Data.IsEmpty) writer.WriteNullValue();
            else writer.WriteRawValue(Data.Span, skipInputValidation: true);
            writer.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }
}
