using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace RealtimeAgents.Core;

/// <summary>
/// A stream entry id, <c>&lt;ms&gt;-&lt;n&gt;</c>, ordered first by milliseconds then by sequence —
/// the same shape and order as a Redis Stream id, so the in-memory and the Redis log hand out
/// cursors that compare alike.
/// </summary>
public readonly record struct StreamId(long Ms, long N) : IComparable<StreamId>
{
    /// <summary>The id before every entry ("0-0").</summary>
    public static StreamId Zero => default;

    /// <summary>Parses "ms-n" with both parts non-negative decimal integers.</summary>
    public static bool TryParse([NotNullWhen(true)] string? text, out StreamId id)
    {
        id = default;
        if (string.IsNullOrEmpty(text) || text.Length > 41) return false;
        int dash = text.IndexOf('-', StringComparison.Ordinal);
        if (dash <= 0 || dash == text.Length - 1) return false;
        var ms = text.AsSpan(0, dash);
        var n = text.AsSpan(dash + 1);
        if (!IsDigits(ms) || !IsDigits(n)) return false;
        if (!long.TryParse(ms, NumberStyles.None, CultureInfo.InvariantCulture, out long m) ||
            !long.TryParse(n, NumberStyles.None, CultureInfo.InvariantCulture, out long s)) return false;
        id = new StreamId(m, s);
        return true;
    }

    /// <summary>Parses or throws <see cref="FormatException"/>.</summary>
    public static StreamId Parse(string text) =>
        TryParse(text, out var id) ? id : throw new FormatException($"'{text}' is not a stream id (<ms>-<n>)");

    private static bool IsDigits(ReadOnlySpan<char> s)
    {
        foreach (char c in s) if (c is < '0' or > '9') return false;
        return s.Length > 0;
    }

    /// <summary>The smallest id strictly greater than this one.</summary>
    public StreamId Next() => N == long.MaxValue ? new StreamId(Ms + 1, 0) : new StreamId(Ms, N + 1);

    /// <inheritdoc />
    public int CompareTo(StreamId other) => Ms != other.Ms ? Ms.CompareTo(other.Ms) : N.CompareTo(other.N);

    /// <summary>Orders ids.</summary>
    public static bool operator <(StreamId a, StreamId b) => a.CompareTo(b) < 0;
    /// <summary>Orders ids.</summary>
    public static bool operator >(StreamId a, StreamId b) => a.CompareTo(b) > 0;
    /// <summary>Orders ids.</summary>
    public static bool operator <=(StreamId a, StreamId b) => a.CompareTo(b) <= 0;
    /// <summary>Orders ids.</summary>
    public static bool operator >=(StreamId a, StreamId b) => a.CompareTo(b) >= 0;

    /// <inheritdoc />
    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"{Ms}-{N}");
}

/// <summary>Where a subscription starts: the beginning, live only, or strictly after an id.</summary>
public readonly record struct Cursor
{
    private Cursor(CursorKind kind, StreamId after) { Kind = kind; After = after; }

    /// <summary>Which of the three forms this is.</summary>
    public CursorKind Kind { get; }
    /// <summary>For <see cref="CursorKind.After"/>: deliver ids strictly greater than this.</summary>
    public StreamId After { get; }

    /// <summary>From the first event.</summary>
    public static Cursor Start => new(CursorKind.Start, StreamId.Zero);
    /// <summary>Only events appended from now on.</summary>
    public static Cursor Live => new(CursorKind.Live, StreamId.Zero);
    /// <summary>Strictly after <paramref name="id"/>.</summary>
    public static Cursor AfterId(StreamId id) => id == StreamId.Zero ? Start : new(CursorKind.After, id);

    /// <summary>null, "" and "0-0" are the start; "$" is live; otherwise a stream id.</summary>
    public static bool TryParse(string? text, out Cursor cursor)
    {
        cursor = Start;
        if (string.IsNullOrEmpty(text) || text == "0") return true;
        if (text == Contracts.Cursors.Live) { cursor = Live; return true; }
        if (!StreamId.TryParse(text, out var id)) return false;
        cursor = AfterId(id);
        return true;
    }

    /// <inheritdoc />
    public override string ToString() => Kind switch
    {
        CursorKind.Start => Contracts.Cursors.Start,
        CursorKind.Live => Contracts.Cursors.Live,
        _ => After.ToString(),
    };
}

/// <summary>The forms of <see cref="Cursor"/>.</summary>
public enum CursorKind
{
    /// <summary>From the first event.</summary>
    Start,
    /// <summary>Only new events.</summary>
    Live,
    /// <summary>Strictly after an id.</summary>
    After,
}
