using System.Globalization;
using System.Text;

namespace RealtimeAgents.Redis;

/// <summary>The RESP2/RESP3 type of a <see cref="RedisReply"/>.</summary>
public enum RedisReplyKind : byte
{
    /// <summary><c>+OK</c></summary>
    SimpleString,
    /// <summary><c>-ERR ...</c> or RESP3 blob error <c>!</c>. Only seen nested (top-level errors are thrown).</summary>
    Error,
    /// <summary><c>:42</c></summary>
    Integer,
    /// <summary><c>$3 foo</c></summary>
    BulkString,
    /// <summary>RESP2 <c>$-1</c>/<c>*-1</c> or RESP3 <c>_</c>.</summary>
    Null,
    /// <summary><c>*n</c></summary>
    Array,
    /// <summary>RESP3 <c>%n</c>; <see cref="RedisReply.Elements"/> holds keys and values alternately.</summary>
    Map,
    /// <summary>RESP3 <c>~n</c></summary>
    Set,
    /// <summary>RESP3 <c>,3.14</c></summary>
    Double,
    /// <summary>RESP3 <c>#t</c>/<c>#f</c></summary>
    Boolean,
    /// <summary>RESP3 <c>(12345678901234567890</c>; the digits are kept as text.</summary>
    BigNumber,
    /// <summary>RESP3 <c>=</c>: a bulk string with a three letter format (txt, mkd).</summary>
    VerbatimString,
    /// <summary>RESP3 <c>&gt;n</c>: an out-of-band message (pub/sub, client tracking).</summary>
    Push,
}

/// <summary>
/// One value read from the server. Immutable. Strings are kept as the raw bytes the server sent and decoded
/// on demand, so a binary payload is never damaged by a round trip through UTF-16.
/// </summary>
public sealed class RedisReply
{
    private static readonly RedisReply[] s_noElements = [];
    private static readonly RedisReply[] s_smallIntegers = CreateSmallIntegers();

    private readonly byte[]? _bytes;
    private readonly RedisReply[]? _elements;
    private readonly long _integer;
    private readonly double _double;

    private RedisReply(RedisReplyKind kind, byte[]? bytes, RedisReply[]? elements, long integer, double dbl)
    {
        Kind = kind;
        _bytes = bytes;
        _elements = elements;
        _integer = integer;
        _double = dbl;
    }

    /// <summary>The RESP null (<c>_</c>, <c>$-1</c>, <c>*-1</c>).</summary>
    public static RedisReply Null { get; } = new(RedisReplyKind.Null, null, null, 0, 0);

    /// <summary><c>+OK</c></summary>
    internal static RedisReply Ok { get; } = new(RedisReplyKind.SimpleString, "OK"u8.ToArray(), null, 0, 0);

    internal static RedisReply True { get; } = new(RedisReplyKind.Boolean, null, null, 1, 0);

    internal static RedisReply False { get; } = new(RedisReplyKind.Boolean, null, null, 0, 0);

    public RedisReplyKind Kind { get; }

    public bool IsNull => Kind == RedisReplyKind.Null;

    public bool IsError => Kind == RedisReplyKind.Error;

    /// <summary>True for Array, Map, Set and Push.</summary>
    public bool IsAggregate => _elements is not null;

    /// <summary>Number of child elements of an aggregate (for a map: keys plus values); 0 otherwise.</summary>
    public int Count => _elements?.Length ?? 0;

    /// <summary>Child elements of an aggregate, maps flattened as key, value, key, value; empty otherwise.</summary>
    public IReadOnlyList<RedisReply> Elements => _elements ?? s_noElements;

    public RedisReply this[int index] => (_elements ?? s_noElements)[index];

    /// <summary>The raw payload of a string-like reply (simple, bulk, verbatim without its format, error, big number).</summary>
    public ReadOnlyMemory<byte> Memory => _bytes ?? ReadOnlyMemory<byte>.Empty;

    /// <summary>For a verbatim string, the three letter format (e.g. <c>txt</c>); otherwise null.</summary>
    public string? VerbatimFormat { get; private init; }

    internal static RedisReply SimpleString(byte[] value) =>
        TryGetCommonSimpleString(value) ?? new(RedisReplyKind.SimpleString, value, null, 0, 0);

    private static readonly RedisReply s_pong = new(RedisReplyKind.SimpleString, "PONG"u8.ToArray(), null, 0, 0);
    private static readonly RedisReply s_queued = new(RedisReplyKind.SimpleString, "QUEUED"u8.ToArray(), null, 0, 0);

    /// <summary>The shared instance for the simple strings servers send all the time, so they cost nothing.</summary>
    internal static RedisReply? TryGetCommonSimpleString(ReadOnlySpan<byte> value) => value.Length switch
    {
        2 when value.SequenceEqual("OK"u8) => Ok,
        4 when value.SequenceEqual("PONG"u8) => s_pong,
        6 when value.SequenceEqual("QUEUED"u8) => s_queued,
        _ => null,
    };

    internal static RedisReply Error(byte[] message) => new(RedisReplyKind.Error, message, null, 0, 0);

    internal static RedisReply Integer(long value) =>
        (ulong)(value + 1) < (ulong)s_smallIntegers.Length ? s_smallIntegers[value + 1] : new(RedisReplyKind.Integer, null, null, value, 0);

    internal static RedisReply BulkString(byte[] value) => new(RedisReplyKind.BulkString, value, null, 0, 0);

    internal static RedisReply Double(double value) => new(RedisReplyKind.Double, null, null, 0, value);

    internal static RedisReply Boolean(bool value) => value ? True : False;

    internal static RedisReply BigNumber(byte[] digits) => new(RedisReplyKind.BigNumber, digits, null, 0, 0);

    internal static RedisReply Verbatim(string format, byte[] text) =>
        new(RedisReplyKind.VerbatimString, text, null, 0, 0) { VerbatimFormat = format };

    /// <summary>An aggregate. For <see cref="RedisReplyKind.Map"/> pass keys and values alternately.</summary>
    internal static RedisReply Aggregate(RedisReplyKind kind, RedisReply[] elements)
    {
        if (kind is not (RedisReplyKind.Array or RedisReplyKind.Map or RedisReplyKind.Set or RedisReplyKind.Push))
        {
            throw new ArgumentOutOfRangeException(nameof(kind));
        }

        if (kind == RedisReplyKind.Map && elements.Length % 2 != 0)
        {
            throw new ArgumentException("A map needs an even number of elements.", nameof(elements));
        }

        return new(kind, null, elements, 0, 0);
    }

    /// <summary>Text of a string-like reply, an integer, double or boolean as text; null for Null.</summary>
    public string? AsString() => Kind switch
    {
        RedisReplyKind.Null => null,
        RedisReplyKind.Integer => _integer.ToString(CultureInfo.InvariantCulture),
        RedisReplyKind.Double => Internal.RespWriter.FormatDouble(_double),
        RedisReplyKind.Boolean => _integer != 0 ? "true" : "false",
        _ when _bytes is not null => Encoding.UTF8.GetString(_bytes),
        _ => throw new InvalidCastException($"A {Kind} reply is not a string."),
    };

    /// <summary>A copy of the payload of a string-like reply; null for Null.</summary>
    public byte[]? AsBytes() => Kind == RedisReplyKind.Null ? null : Memory.ToArray();

    /// <summary>An integer reply, or a string-like reply holding an integer (e.g. a bulk "12").</summary>
    public long AsInt64()
    {
        switch (Kind)
        {
            case RedisReplyKind.Integer:
            case RedisReplyKind.Boolean:
                return _integer;
            case RedisReplyKind.Double when _double == Math.Floor(_double) && Math.Abs(_double) < 9.2e18:
                return (long)_double;
            default:
                if (_bytes is not null && long.TryParse(_bytes, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long v))
                {
                    return v;
                }

                throw new InvalidCastException($"A {Kind} reply ({this}) is not an integer.");
        }
    }

    /// <summary>Like <see cref="AsInt64"/> but null for a Null reply.</summary>
    public long? AsNullableInt64() => IsNull ? null : AsInt64();

    public double AsDouble()
    {
        switch (Kind)
        {
            case RedisReplyKind.Double:
                return _double;
            case RedisReplyKind.Integer:
                return _integer;
            default:
                if (_bytes is not null && Internal.RespParser.TryParseDouble(_bytes, out double d))
                {
                    return d;
                }

                throw new InvalidCastException($"A {Kind} reply ({this}) is not a number.");
        }
    }

    /// <summary>A RESP3 boolean, or an integer 0/1 (what RESP2 sends instead).</summary>
    public bool AsBoolean() => Kind switch
    {
        RedisReplyKind.Boolean or RedisReplyKind.Integer => _integer != 0,
        _ => throw new InvalidCastException($"A {Kind} reply is not a boolean."),
    };

    /// <summary>
    /// Key/value pairs of a RESP3 map or of a RESP2 flat array (k1, v1, k2, v2...), which is how RESP2 carries
    /// maps. Lets one reader handle both protocols.
    /// </summary>
    public IEnumerable<KeyValuePair<RedisReply, RedisReply>> AsPairs()
    {
        if (_elements is null)
        {
            if (IsNull)
            {
                yield break;
            }

            throw new InvalidCastException($"A {Kind} reply has no key/value pairs.");
        }

        for (int i = 0; i + 1 < _elements.Length; i += 2)
        {
            yield return new(_elements[i], _elements[i + 1]);
        }
    }

    /// <summary>Throws <see cref="RedisServerException"/> when this is an error reply; returns this otherwise.</summary>
    public RedisReply ThrowIfError() => IsError ? throw new RedisServerException(AsString()!) : this;

    /// <summary>A readable rendering, for logs and test failures.</summary>
    public override string ToString()
    {
        var sb = new StringBuilder();
        Append(sb, 0);
        return sb.ToString();
    }

    private void Append(StringBuilder sb, int depth)
    {
        if (depth > 8)
        {
            sb.Append('…');
            return;
        }

        switch (Kind)
        {
            case RedisReplyKind.Null:
                sb.Append("(nil)");
                break;
            case RedisReplyKind.Error:
                sb.Append("(error) ").Append(AsString());
                break;
            case RedisReplyKind.Integer:
                sb.Append("(integer) ").Append(_integer);
                break;
            case RedisReplyKind.Double:
                sb.Append("(double) ").Append(AsString());
                break;
            case RedisReplyKind.Boolean:
                sb.Append(_integer != 0 ? "(true)" : "(false)");
                break;
            case RedisReplyKind.BigNumber:
                sb.Append("(big) ").Append(AsString());
                break;
            case RedisReplyKind.VerbatimString:
                sb.Append(VerbatimFormat).Append(':').Append(AsString());
                break;
            case RedisReplyKind.SimpleString:
            case RedisReplyKind.BulkString:
                sb.Append('"').Append(AsString()).Append('"');
                break;
            default:
                sb.Append(Kind switch { RedisReplyKind.Map => "%{", RedisReplyKind.Set => "~{", RedisReplyKind.Push => ">[", _ => "[" });
                for (int i = 0; i < _elements!.Length; i++)
                {
                    if (i > 0)
                    {
                        sb.Append(Kind == RedisReplyKind.Map && i % 2 == 1 ? ": " : ", ");
                    }

                    _elements[i].Append(sb, depth + 1);
                }

                sb.Append(Kind is RedisReplyKind.Map or RedisReplyKind.Set ? '}' : ']');
                break;
        }
    }

    private static RedisReply[] CreateSmallIntegers()
    {
        var values = new RedisReply[258];
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = new RedisReply(RedisReplyKind.Integer, null, null, i - 1, 0);
        }

        return values;
    }
}
