using System.Buffers;
using System.Buffers.Text;
using System.Globalization;
using System.Text;

namespace RealtimeAgents.Redis.Internal;

// RESP requests, as this client writes them
// -----------------------------------------
// A client always sends a command as a RESP array of bulk strings, whatever the protocol version the
// connection negotiated (RESP3 only changes what the server sends back). For `SET k 42`:
//
//   *3\r\n            '*' then the argument count (command name included) in ASCII decimal, CRLF
//   $3\r\nSET\r\n     '$' then the byte length of the argument, CRLF, the raw bytes, CRLF
//   $1\r\nk\r\n
//   $2\r\n42\r\n      numbers travel as their decimal text, never as binary
//
// The length prefix is what makes the format binary safe: the payload may contain CRLF or any byte,
// the server reads exactly <len> bytes. It is also why we must know each argument's encoded length
// before writing it: strings are measured with UTF8.GetByteCount and then encoded straight into the
// output buffer (no intermediate byte[]), integers are formatted into a small stack buffer first.
// Writing into an IBufferWriter lets many commands from many callers land back to back in one buffer,
// which is then sent with one socket write: that is all "pipelining" is on the wire.
internal static class RespWriter
{
    private const int MaxNumberLength = 32;

    /// <summary>Writes a whole command: the name followed by its arguments.</summary>
    public static void WriteCommand(IBufferWriter<byte> output, string command, ReadOnlySpan<RedisArg> args)
    {
        WriteHeader(output, (byte)'*', args.Length + 1);
        WriteString(output, command);
        foreach (ref readonly RedisArg arg in args)
        {
            WriteArg(output, in arg);
        }
    }

    public static void WriteArg(IBufferWriter<byte> output, in RedisArg arg)
    {
        switch (arg.Kind)
        {
            case RedisArgKind.String:
                WriteString(output, arg.StringValue);
                break;
            case RedisArgKind.Int64:
                {
                    Span<byte> digits = stackalloc byte[MaxNumberLength];
                    Utf8Formatter.TryFormat(arg.Int64Value, digits, out int n);
                    WriteBulk(output, digits[..n]);
                    break;
                }

            case RedisArgKind.Double:
                {
                    Span<byte> digits = stackalloc byte[MaxNumberLength];
                    int n = FormatDouble(arg.DoubleValue, digits);
                    WriteBulk(output, digits[..n]);
                    break;
                }

            default:
                WriteBulk(output, arg.BytesValue.Span);
                break;
        }
    }

    private static void WriteString(IBufferWriter<byte> output, string value)
    {
        int length = Encoding.UTF8.GetByteCount(value);
        // "$" + up to 10 digits + CRLF + payload + CRLF, written in one reservation.
        Span<byte> span = output.GetSpan(length + 16);
        int pos = WriteHeader(span, (byte)'$', length);
        pos += Encoding.UTF8.GetBytes(value, span[pos..]);
        span[pos++] = (byte)'\r';
        span[pos++] = (byte)'\n';
        output.Advance(pos);
    }

    private static void WriteBulk(IBufferWriter<byte> output, ReadOnlySpan<byte> payload)
    {
        Span<byte> span = output.GetSpan(payload.Length + 16);
        int pos = WriteHeader(span, (byte)'$', payload.Length);
        payload.CopyTo(span[pos..]);
        pos += payload.Length;
        span[pos++] = (byte)'\r';
        span[pos++] = (byte)'\n';
        output.Advance(pos);
    }

    private static void WriteHeader(IBufferWriter<byte> output, byte prefix, int count)
    {
        Span<byte> span = output.GetSpan(16);
        output.Advance(WriteHeader(span, prefix, count));
    }

    private static int WriteHeader(Span<byte> span, byte prefix, int count)
    {
        span[0] = prefix;
        if ((uint)count < 10)
        {
            // The common case (short arguments, few arguments) without the formatter.
            span[1] = (byte)('0' + count);
            span[2] = (byte)'\r';
            span[3] = (byte)'\n';
            return 4;
        }

        Utf8Formatter.TryFormat(count, span[1..], out int n);
        span[n + 1] = (byte)'\r';
        span[n + 2] = (byte)'\n';
        return n + 3;
    }

    /// <summary>Redis' own spelling of doubles: shortest round-trip digits, and inf/-inf.</summary>
    public static int FormatDouble(double value, Span<byte> destination)
    {
        if (double.IsPositiveInfinity(value))
        {
            "+inf"u8.CopyTo(destination);
            return 4;
        }

        if (double.IsNegativeInfinity(value))
        {
            "-inf"u8.CopyTo(destination);
            return 4;
        }

        value.TryFormat(destination, out int written, "R", CultureInfo.InvariantCulture);
        return written;
    }

    public static string FormatDouble(double value)
    {
        Span<byte> buffer = stackalloc byte[MaxNumberLength];
        if (double.IsNaN(value))
        {
            return "nan";
        }

        int n = FormatDouble(value, buffer);
        return Encoding.ASCII.GetString(buffer[..n]);
    }
}
