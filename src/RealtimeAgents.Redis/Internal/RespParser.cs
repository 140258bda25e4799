using System.Buffers;
using System.Globalization;
using System.Text;

namespace RealtimeAgents.Redis.Internal;

// RESP replies, as this parser reads them
// ---------------------------------------
// Every value starts with one type byte and a line ending in CRLF. Scalars carry their value on that
// line; length-prefixed types say how many bytes (or child values) follow:
//
//   +OK\r\n                    simple string (no CR/LF inside)        RESP2+3
//   -WRONGTYPE msg\r\n         error (first word = error class)       RESP2+3
//   :1000\r\n                  signed 64-bit integer                  RESP2+3
//   $5\r\nhello\r\n            bulk string: length, bytes, CRLF       RESP2+3   ($-1\r\n = null in RESP2)
//   *2\r\n<v><v>               array of N values, nested freely       RESP2+3   (*-1\r\n = null in RESP2)
//   _\r\n                      null                                   RESP3
//   ,3.14\r\n                  double (also inf, -inf, nan)           RESP3
//   #t\r\n  #f\r\n             boolean                                RESP3
//   (3492890328409238509\r\n   big number, kept as digits             RESP3
//   !21\r\nSYNTAX invalid\r\n  blob error: a length-prefixed error    RESP3
//   =15\r\ntxt:Some string\r\n verbatim string: 3-letter format + ':' RESP3
//   %2\r\n<k><v><k><v>         map of N pairs (2N values follow)       RESP3
//   ~3\r\n<v><v><v>            set                                    RESP3
//   >3\r\n<v><v><v>            push: out-of-band, not a reply to a    RESP3
//                              command (pub/sub messages, tracking)
//   |1\r\n<k><v> <value>       attribute: metadata before a value     RESP3 (we skip it)
//
// A reply can be split anywhere by TCP. The parser is therefore all-or-nothing: TryParse either
// consumes one complete value or reports "need more bytes" and the caller retries from the same start
// once more data has arrived (PipeReader.AdvanceTo(consumed: start, examined: end) makes the next read
// wait for new bytes instead of spinning). Anything that cannot be RESP (unknown type byte, a length
// that is not a number, a missing CRLF after a bulk payload, absurd sizes) throws
// RedisProtocolException: after that the stream position is meaningless and the connection must go.
internal static class RespParser
{
    /// <summary>Bulk strings larger than Redis' own proto-max-bulk-len default are rejected.</summary>
    public const int MaxBulkLength = 512 * 1024 * 1024;

    /// <summary>Aggregates deeper than this are refused instead of recursing without bound.</summary>
    public const int MaxDepth = 64;

    /// <summary>A header or simple line longer than this without CRLF is treated as garbage.</summary>
    public const int MaxLineLength = 64 * 1024 * 1024;

    private const int MaxAggregateCount = 64 * 1024 * 1024;

    /// <summary>
    /// Parses one complete value from <paramref name="reader"/>. Returns false, with the reader
    /// position unspecified, when the bytes end before the value does; the caller must restart from the
    /// position it saved.
    /// </summary>
    public static bool TryParse(ref SequenceReader<byte> reader, out RedisReply reply) => TryParse(ref reader, out reply, 0);

    private static bool TryParse(ref SequenceReader<byte> reader, out RedisReply reply, int depth)
    {
        reply = RedisReply.Null;
        if (depth > MaxDepth)
        {
            throw new RedisProtocolException($"RESP value nested deeper than {MaxDepth} levels.");
        }

        if (!reader.TryRead(out byte type))
        {
            return false;
        }

        switch (type)
        {
            case (byte)'+':
                {
                    if (!TryReadLine(ref reader, out ReadOnlySequence<byte> line))
                    {
                        return false;
                    }

                    reply = line.IsSingleSegment && RedisReply.TryGetCommonSimpleString(line.FirstSpan) is { } common
                        ? common
                        : RedisReply.SimpleString(line.ToArray());
                    return true;
                }

            case (byte)'-':
                {
                    if (!TryReadLine(ref reader, out ReadOnlySequence<byte> line))
                    {
                        return false;
                    }

                    reply = RedisReply.Error(line.ToArray());
                    return true;
                }

            case (byte)':':
                {
                    if (!TryReadInteger(ref reader, out long value))
                    {
                        return false;
                    }

                    reply = RedisReply.Integer(value);
                    return true;
                }

            case (byte)'$':
            case (byte)'!':
            case (byte)'=':
                return TryParseBlob(ref reader, type, out reply);

            case (byte)'*':
            case (byte)'%':
            case (byte)'~':
            case (byte)'>':
                return TryParseAggregate(ref reader, type, out reply, depth);

            case (byte)'_':
                {
                    if (!TryReadLine(ref reader, out ReadOnlySequence<byte> line))
                    {
                        return false;
                    }

                    if (!line.IsEmpty)
                    {
                        throw new RedisProtocolException("RESP3 null carries data.");
                    }

                    reply = RedisReply.Null;
                    return true;
                }

            case (byte)',':
                {
                    if (!TryReadLine(ref reader, out ReadOnlySequence<byte> line))
                    {
                        return false;
                    }

                    if (!TryParseDouble(line.IsSingleSegment ? line.FirstSpan : line.ToArray(), out double d))
                    {
                        throw new RedisProtocolException("RESP3 double is not a number.");
                    }

                    reply = RedisReply.Double(d);
                    return true;
                }

            case (byte)'#':
                {
                    if (!TryReadLine(ref reader, out ReadOnlySequence<byte> line))
                    {
                        return false;
                    }

                    if (line.Length != 1 || (line.FirstSpan[0] != 't' && line.FirstSpan[0] != 'f'))
                    {
                        throw new RedisProtocolException("RESP3 boolean is neither t nor f.");
                    }

                    reply = RedisReply.Boolean(line.FirstSpan[0] == 't');
                    return true;
                }

            case (byte)'(':
                {
                    if (!TryReadLine(ref reader, out ReadOnlySequence<byte> line))
                    {
                        return false;
                    }

                    byte[] digits = line.ToArray();
                    if (!IsBigNumber(digits))
                    {
                        throw new RedisProtocolException("RESP3 big number is not a number.");
                    }

                    reply = RedisReply.BigNumber(digits);
                    return true;
                }

            case (byte)'|':
                {
                    // Attributes describe the value that follows; nothing in this client uses them.
                    if (!TryParseAggregate(ref reader, (byte)'%', out _, depth))
                    {
                        return false;
                    }

                    return TryParse(ref reader, out reply, depth);
                }

            default:
                throw new RedisProtocolException($"Unknown RESP type byte 0x{type:X2}.");
        }
    }

    private static bool TryParseBlob(ref SequenceReader<byte> reader, byte type, out RedisReply reply)
    {
        reply = RedisReply.Null;
        if (!TryReadInteger(ref reader, out long length))
        {
            return false;
        }

        if (length == -1 && type == (byte)'$')
        {
            return true; // RESP2 null bulk string
        }

        if (length < 0 || length > MaxBulkLength)
        {
            throw new RedisProtocolException($"Invalid RESP bulk length {length}.");
        }

        if (reader.Remaining < length + 2)
        {
            return false;
        }

        byte[] payload = new byte[length];
        reader.TryCopyTo(payload);
        reader.Advance(length);
        if (!reader.IsNext("\r\n"u8, advancePast: true))
        {
            throw new RedisProtocolException("RESP bulk string is not followed by CRLF.");
        }

        switch (type)
        {
            case (byte)'$':
                reply = RedisReply.BulkString(payload);
                break;
            case (byte)'!':
                reply = RedisReply.Error(payload);
                break;
            default:
                if (payload.Length < 4 || payload[3] != (byte)':')
                {
                    throw new RedisProtocolException("RESP3 verbatim string lacks its 'fmt:' prefix.");
                }

                reply = RedisReply.Verbatim(Encoding.ASCII.GetString(payload, 0, 3), payload[4..]);
                break;
        }

        return true;
    }

    private static bool TryParseAggregate(ref SequenceReader<byte> reader, byte type, out RedisReply reply, int depth)
    {
        reply = RedisReply.Null;
        if (!TryReadInteger(ref reader, out long count))
        {
            return false;
        }

        if (count == -1 && type == (byte)'*')
        {
            return true; // RESP2 null array
        }

        if (count < 0 || count > MaxAggregateCount)
        {
            throw new RedisProtocolException($"Invalid RESP aggregate length {count}.");
        }

        RedisReplyKind kind = type switch
        {
            (byte)'%' => RedisReplyKind.Map,
            (byte)'~' => RedisReplyKind.Set,
            (byte)'>' => RedisReplyKind.Push,
            _ => RedisReplyKind.Array,
        };
        long n = kind == RedisReplyKind.Map ? count * 2 : count;

        // Each child needs at least 3 bytes ("_\r\n"): refuse to allocate for children that cannot be there yet.
        if (reader.Remaining < n * 3)
        {
            return false;
        }

        var elements = n == 0 ? [] : new RedisReply[n];
        for (int i = 0; i < elements.Length; i++)
        {
            if (!TryParse(ref reader, out elements[i], depth + 1))
            {
                return false;
            }
        }

        reply = RedisReply.Aggregate(kind, elements);
        return true;
    }

    private static bool TryReadLine(ref SequenceReader<byte> reader, out ReadOnlySequence<byte> line)
    {
        if (reader.TryReadTo(out line, (byte)'\n', advancePastDelimiter: true))
        {
            if (line.IsEmpty || !EndsWithCr(line))
            {
                throw new RedisProtocolException("RESP line ends with LF but no CR.");
            }

            line = line.Slice(0, line.Length - 1);
            if (line.PositionOf((byte)'\r') is not null)
            {
                throw new RedisProtocolException("RESP line contains a bare CR.");
            }

            return true;
        }

        if (reader.Remaining > MaxLineLength)
        {
            throw new RedisProtocolException("RESP line too long.");
        }

        // No LF yet. A CR that is already followed by something else can never become a line end: fail now
        // rather than wait for bytes that would not help.
        ReadOnlySequence<byte> rest = reader.UnreadSequence;
        if (rest.PositionOf((byte)'\r') is { } cr && !rest.Slice(cr).Slice(1).IsEmpty)
        {
            throw new RedisProtocolException("RESP line contains a CR not followed by LF.");
        }

        return false;
    }

    private static bool EndsWithCr(ReadOnlySequence<byte> line) => line.Slice(line.Length - 1).FirstSpan[0] == (byte)'\r';

    private static bool TryReadInteger(ref SequenceReader<byte> reader, out long value)
    {
        value = 0;
        if (!TryReadLine(ref reader, out ReadOnlySequence<byte> line))
        {
            return false;
        }

        Span<byte> copy = stackalloc byte[24];
        scoped ReadOnlySpan<byte> span;
        if (line.IsSingleSegment)
        {
            span = line.FirstSpan;
        }
        else if (line.Length <= copy.Length)
        {
            line.CopyTo(copy);
            span = copy[..(int)line.Length];
        }
        else
        {
            throw new RedisProtocolException("RESP integer too long.");
        }

        if (!TryParseInt64(span, out value))
        {
            throw new RedisProtocolException($"RESP integer '{Encoding.ASCII.GetString(span[..Math.Min(span.Length, 24)])}' is not a number.");
        }

        return true;
    }

    /// <summary>Strict: optional '-' or '+', then 1..19 digits, no spaces, no overflow.</summary>
    internal static bool TryParseInt64(ReadOnlySpan<byte> span, out long value)
    {
        value = 0;
        bool negative = false;
        if (span.Length > 0 && (span[0] == (byte)'-' || span[0] == (byte)'+'))
        {
            negative = span[0] == (byte)'-';
            span = span[1..];
        }

        if (span.IsEmpty || span.Length > 19)
        {
            return false;
        }

        ulong acc = 0;
        foreach (byte b in span)
        {
            uint digit = (uint)(b - '0');
            if (digit > 9)
            {
                return false;
            }

            acc = (acc * 10) + digit;
        }

        if (negative)
        {
            if (acc > (ulong)long.MaxValue + 1)
            {
                return false;
            }

            value = (long)(0 - acc);
            return true;
        }

        if (acc > long.MaxValue)
        {
            return false;
        }

        value = (long)acc;
        return true;
    }

    internal static bool TryParseDouble(ReadOnlySpan<byte> text, out double value)
    {
        if (text.SequenceEqual("inf"u8) || text.SequenceEqual("+inf"u8))
        {
            value = double.PositiveInfinity;
            return true;
        }

        if (text.SequenceEqual("-inf"u8))
        {
            value = double.NegativeInfinity;
            return true;
        }

        if (text.SequenceEqual("nan"u8) || text.SequenceEqual("-nan"u8))
        {
            value = double.NaN;
            return true;
        }

        return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out value) && double.IsFinite(value);
    }

    private static bool IsBigNumber(ReadOnlySpan<byte> digits)
    {
        if (digits.Length > 0 && digits[0] == (byte)'-')
        {
            digits = digits[1..];
        }

        if (digits.IsEmpty)
        {
            return false;
        }

        foreach (byte b in digits)
        {
            if ((uint)(b - '0') > 9)
            {
                return false;
            }
        }

        return true;
    }
}
