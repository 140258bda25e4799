using System.Globalization;
using System.Text;

namespace RealtimeAgents.Redis.Tests;

/// <summary>An independent RESP2/RESP3 encoder for replies, written from the spec, used to feed the parser.</summary>
internal static class RespTestSerializer
{
    public static byte[] Serialize(RedisReply reply)
    {
        var output = new MemoryStream();
        Write(output, reply);
        return output.ToArray();
    }

    private static void Write(MemoryStream output, RedisReply reply)
    {
        switch (reply.Kind)
        {
            case RedisReplyKind.SimpleString:
                Line(output, '+', reply.Memory.Span);
                break;
            case RedisReplyKind.Error:
                // Alternate between the RESP2 line form and the RESP3 blob form, both parse to the same value.
                if (reply.Memory.Span.IndexOfAny((byte)'\r', (byte)'\n') < 0 && reply.Memory.Length % 2 == 0)
                {
                    Line(output, '-', reply.Memory.Span);
                }
                else
                {
                    Blob(output, '!', reply.Memory.Span);
                }

                break;
            case RedisReplyKind.Integer:
                Line(output, ':', Encoding.ASCII.GetBytes(reply.AsInt64().ToString(CultureInfo.InvariantCulture)));
                break;
            case RedisReplyKind.BulkString:
                Blob(output, '$', reply.Memory.Span);
                break;
            case RedisReplyKind.Null:
                Line(output, '_', []);
                break;
            case RedisReplyKind.Double:
                Line(output, ',', Encoding.ASCII.GetBytes(reply.AsString()!));
                break;
            case RedisReplyKind.Boolean:
                Line(output, '#', reply.AsBoolean() ? "t"u8 : "f"u8);
                break;
            case RedisReplyKind.BigNumber:
                Line(output, '(', reply.Memory.Span);
                break;
            case RedisReplyKind.VerbatimString:
                Blob(output, '=', [.. Encoding.ASCII.GetBytes(reply.VerbatimFormat! + ":"), .. reply.Memory.Span]);
                break;
            default:
                char type = reply.Kind switch
                {
                    RedisReplyKind.Map => '%',
                    RedisReplyKind.Set => '~',
                    RedisReplyKind.Push => '>',
                    _ => '*',
                };
                int count = reply.Kind == RedisReplyKind.Map ? reply.Count / 2 : reply.Count;
                Line(output, type, Encoding.ASCII.GetBytes(count.ToString(CultureInfo.InvariantCulture)));
                foreach (RedisReply child in reply.Elements)
                {
                    Write(output, child);
                }

                break;
        }
    }

    private static void Line(MemoryStream output, char type, ReadOnlySpan<byte> body)
    {
        output.WriteByte((byte)type);
        output.Write(body);
        output.Write("\r\n"u8);
    }

    private static void Blob(MemoryStream output, char type, ReadOnlySpan<byte> body)
    {
        Line(output, type, Encoding.ASCII.GetBytes(body.Length.ToString(CultureInfo.InvariantCulture)));
        output.Write(body);
        output.Write("\r\n"u8);
    }

    /// <summary>Structural equality of two replies (doubles compared bit for bit, NaN equal to NaN).</summary>
    public static bool Same(RedisReply a, RedisReply b)
    {
        if (a.Kind != b.Kind || a.Count != b.Count)
        {
            return false;
        }

        switch (a.Kind)
        {
            case RedisReplyKind.Null:
                return true;
            case RedisReplyKind.Integer:
            case RedisReplyKind.Boolean:
                return a.AsInt64() == b.AsInt64();
            case RedisReplyKind.Double:
                return a.AsDouble().Equals(b.AsDouble());
            case RedisReplyKind.VerbatimString:
                return a.VerbatimFormat == b.VerbatimFormat && a.Memory.Span.SequenceEqual(b.Memory.Span);
            case RedisReplyKind.Array:
            case RedisReplyKind.Map:
            case RedisReplyKind.Set:
            case RedisReplyKind.Push:
                for (int i = 0; i < a.Count; i++)
                {
                    if (!Same(a[i], b[i]))
                    {
                        return false;
                    }
                }

                return true;
            default:
                return a.Memory.Span.SequenceEqual(b.Memory.Span);
        }
    }
}
