using System.Buffers;
using System.Text;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Protocol;

namespace RealtimeAgents.Server.Backplane;

/// <summary>An invocation read off the backplane: who sent it, whom to skip, and its serializations.</summary>
internal readonly record struct RedisBackplaneInvocation(string Origin, IReadOnlyList<string>? ExcludedConnectionIds, SerializedHubMessage Message);

/// <summary>A group add/remove for a connection held by another node.</summary>
internal readonly record struct RedisBackplaneGroupCommand(int Id, string Origin, RedisBackplaneGroupAction Action, string GroupName, string ConnectionId);

internal enum RedisBackplaneGroupAction : byte
{
    Add = 1,
    Remove = 2,
}

/// <summary>
/// The bytes the backplane publishes. Each message starts with a kind byte, so a message on the wrong
/// channel (or from an incompatible version) is rejected instead of misread. Building blocks:
/// <list type="bullet">
/// <item><c>varint</c>: an unsigned 32-bit integer in 7-bit groups, low group first, high bit set on every
/// byte but the last (the BinaryWriter.Write7BitEncodedInt layout).</item>
/// <item><c>string</c>: a varint byte length followed by that many bytes of UTF-8.</item>
/// <item><c>bytes</c>: a varint length followed by that many raw bytes.</item>
/// </list>
/// A message is serialized once per hub protocol by the sender (the JSON text frame, the MessagePack
/// binary frame, ...) and each receiving node hands every local connection the frame of its own protocol,
/// so nobody re-serializes per connection.
/// </summary>
internal static class RedisBackplaneProtocol
{
    private const byte InvocationKind = 1;
    private const byte GroupCommandKind = 2;
    private const byte AckKind = 3;

    /// <summary>
    /// An invocation, on the all, group, user and connection channels:
    /// <code>
    /// 0x01                    kind
    /// string                  origin node (the receiver skips its own messages: it wrote to its local connections already)
    /// varint n, n × string    excluded connection ids
    /// varint m, m × (string protocol name, bytes frame)   the message as each hub protocol serializes it
    /// </code>
    /// </summary>
    public static void WriteInvocation(IBufferWriter<byte> output, string origin, IReadOnlyList<string>? excluded,
        SerializedHubMessage message, IReadOnlyList<IHubProtocol> protocols)
    {
        WriteByte(output, InvocationKind);
        WriteString(output, origin);
        WriteVarint(output, (uint)(excluded?.Count ?? 0));
        if (excluded is not null)
        {
            foreach (string id in excluded)
            {
                WriteString(output, id);
            }
        }

        WriteVarint(output, (uint)protocols.Count);
        foreach (IHubProtocol protocol in protocols)
        {
            WriteString(output, protocol.Name);
            WriteBytes(output, message.GetSerializedMessage(protocol).Span);
        }
    }

    /// <summary>
    /// A group command, on the group-management channel:
    /// <code>
    /// 0x02      kind
    /// string    origin node (its ack channel gets the answer)
    /// varint    command id, unique per origin node
    /// byte      action: 1 add, 2 remove
    /// string    group name
    /// string    connection id
    /// </code>
    /// </summary>
    public static void WriteGroupCommand(IBufferWriter<byte> output, in RedisBackplaneGroupCommand command)
    {
        WriteByte(output, GroupCommandKind);
        WriteString(output, command.Origin);
        WriteVarint(output, (uint)command.Id);
        WriteByte(output, (byte)command.Action);
        WriteString(output, command.GroupName);
        WriteString(output, command.ConnectionId);
    }

    /// <summary>
    /// An ack, on the origin node's ack channel, sent by the node that carried out the command:
    /// <code>
    /// 0x03      kind
    /// varint    command id
    /// </code>
    /// </summary>
    public static void WriteAck(IBufferWriter<byte> output, int id)
    {
        WriteByte(output, AckKind);
        WriteVarint(output, (uint)id);
    }

    public static RedisBackplaneInvocation ReadInvocation(ReadOnlyMemory<byte> data)
    {
        var reader = new Reader(data);
        reader.ExpectKind(InvocationKind, "invocation");
        string origin = reader.ReadString();
        int excludedCount = reader.ReadCount();
        string[]? excluded = excludedCount == 0 ? null : new string[excludedCount];
        for (int i = 0; i < excludedCount; i++)
        {
            excluded![i] = reader.ReadString();
        }

        int count = reader.ReadCount();
        var serialized = new SerializedMessage[count];
        for (int i = 0; i < count; i++)
        {
            string protocol = reader.ReadString();
            serialized[i] = new SerializedMessage(protocol, reader.ReadBytes());
        }

        return new RedisBackplaneInvocation(origin, excluded, new SerializedHubMessage(serialized));
    }

    public static RedisBackplaneGroupCommand ReadGroupCommand(ReadOnlyMemory<byte> data)
    {
        var reader = new Reader(data);
        reader.ExpectKind(GroupCommandKind, "group command");
        string origin = reader.ReadString();
        int id = (int)reader.ReadVarint();
        var action = (RedisBackplaneGroupAction)reader.ReadByte();
        if (action is not (RedisBackplaneGroupAction.Add or RedisBackplaneGroupAction.Remove))
        {
            throw new InvalidDataException($"Unknown group action {(byte)action}.");
        }

        return new RedisBackplaneGroupCommand(id, origin, action, reader.ReadString(), reader.ReadString());
    }

    public static int ReadAck(ReadOnlyMemory<byte> data)
    {
        var reader = new Reader(data);
        reader.ExpectKind(AckKind, "ack");
        return (int)reader.ReadVarint();
    }

    private static void WriteByte(IBufferWriter<byte> output, byte value)
    {
        output.GetSpan(1)[0] = value;
        output.Advance(1);
    }

    private static void WriteVarint(IBufferWriter<byte> output, uint value)
    {
        Span<byte> span = output.GetSpan(5);
        int i = 0;
        while (value >= 0x80)
        {
            span[i++] = (byte)(value | 0x80);
            value >>= 7;
        }

        span[i++] = (byte)value;
        output.Advance(i);
    }

    private static void WriteString(IBufferWriter<byte> output, string value)
    {
        int length = Encoding.UTF8.GetByteCount(value);
        WriteVarint(output, (uint)length);
        Encoding.UTF8.GetBytes(value, output.GetSpan(length));
        output.Advance(length);
    }

    private static void WriteBytes(IBufferWriter<byte> output, ReadOnlySpan<byte> value)
    {
        WriteVarint(output, (uint)value.Length);
        value.CopyTo(output.GetSpan(value.Length));
        output.Advance(value.Length);
    }

    /// <summary>Reads the format above; anything short or malformed is an <see cref="InvalidDataException"/>.</summary>
    private struct Reader(ReadOnlyMemory<byte> data)
    {
        private readonly ReadOnlyMemory<byte> _data = data;
        private int _position;

        public void ExpectKind(byte kind, string name)
        {
            byte actual = ReadByte();
            if (actual != kind)
            {
                throw new InvalidDataException($"Expected a backplane {name} (kind {kind}), got kind {actual}.");
            }
        }

        public byte ReadByte()
        {
            if (_position >= _data.Length)
            {
                throw Truncated();
            }

            return _data.Span[_position++];
        }

        public uint ReadVarint()
        {
            uint value = 0;
            for (int shift = 0; shift < 35; shift += 7)
            {
                byte b = ReadByte();
                value |= (uint)(b & 0x7F) << shift;
                if (b < 0x80)
                {
                    return value;
                }
            }

            throw new InvalidDataException("A backplane varint is longer than 5 bytes.");
        }

        /// <summary>A count or length, checked against what is left so a corrupt one cannot allocate wildly.</summary>
        public int ReadCount()
        {
            uint count = ReadVarint();
            if (count > (uint)(_data.Length - _position))
            {
                throw Truncated();
            }

            return (int)count;
        }

        public ReadOnlyMemory<byte> ReadBytes()
        {
            int length = ReadCount();
            ReadOnlyMemory<byte> slice = _data.Slice(_position, length);
            _position += length;
            return slice;
        }

        public string ReadString() => Encoding.UTF8.GetString(ReadBytes().Span);

        private static InvalidDataException Truncated() => new("A backplane message ended early.");
    }
}
