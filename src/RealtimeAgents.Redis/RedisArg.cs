using System.Globalization;
using System.Text;

namespace RealtimeAgents.Redis;

/// <summary>
/// One argument of a Redis command. Every RESP request argument is a bulk string; this struct holds
/// the value in its natural form (text, integer, double or bytes) and is only turned into bytes when
/// the command is written to the connection's output buffer, so passing a <see cref="long"/> never boxes
/// and never allocates a string.
/// </summary>
public readonly struct RedisArg : IEquatable<RedisArg>
{
    private readonly object? _ref;       // string or byte[]; null for numbers and for Memory (see _memory)
    private readonly ReadOnlyMemory<byte> _memory;
    private readonly long _integer;
    private readonly double _double;

    private RedisArg(RedisArgKind kind, object? reference, ReadOnlyMemory<byte> memory, long integer, double dbl)
    {
        Kind = kind;
        _ref = reference;
        _memory = memory;
        _integer = integer;
        _double = dbl;
    }

    internal RedisArgKind Kind { get; }

    internal string StringValue => (string)_ref!;

    internal long Int64Value => _integer;

    internal double DoubleValue => _double;

    internal ReadOnlyMemory<byte> BytesValue => _memory;

    public static RedisArg FromString(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return new RedisArg(RedisArgKind.String, value, default, 0, 0);
    }

    public static RedisArg FromInt64(long value) => new(RedisArgKind.Int64, null, default, value, 0);

    public static RedisArg FromDouble(double value)
    {
        if (double.IsNaN(value))
        {
            throw new ArgumentException("Redis does not accept NaN as a number.", nameof(value));
        }

        return new RedisArg(RedisArgKind.Double, null, default, 0, value);
    }

    public static RedisArg FromBytes(ReadOnlyMemory<byte> value) => new(RedisArgKind.Bytes, null, value, 0, 0);

    public static implicit operator RedisArg(string value) => FromString(value);

    public static implicit operator RedisArg(long value) => FromInt64(value);

    public static implicit operator RedisArg(int value) => FromInt64(value);

    public static implicit operator RedisArg(double value) => FromDouble(value);

    public static implicit operator RedisArg(byte[] value) => FromBytes(value);

    public static implicit operator RedisArg(ReadOnlyMemory<byte> value) => FromBytes(value);

    public static bool operator ==(RedisArg left, RedisArg right) => left.Equals(right);

    public static bool operator !=(RedisArg left, RedisArg right) => !left.Equals(right);

    /// <summary>Equal when the bytes sent to the server would be equal.</summary>
    public bool Equals(RedisArg other) => ToString() == other.ToString();

    public override bool Equals(object? obj) => obj is RedisArg other && Equals(other);

    public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(ToString());

    /// <summary>The argument as text (bytes are decoded as UTF-8). For diagnostics and tests, not the hot path.</summary>
    public override string ToString() => Kind switch
    {
        RedisArgKind.String => StringValue,
        RedisArgKind.Int64 => _integer.ToString(CultureInfo.InvariantCulture),
        RedisArgKind.Double => Internal.RespWriter.FormatDouble(_double),
        RedisArgKind.Bytes => Encoding.UTF8.GetString(_memory.Span),
        _ => string.Empty,
    };
}

internal enum RedisArgKind : byte
{
    Bytes = 0,
    String,
    Int64,
    Double,
}
