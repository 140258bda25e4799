using System.Buffers;
using RealtimeAgents.Redis.Internal;

namespace RealtimeAgents.Redis;

public sealed partial class RedisClient
{
    /// <summary>
    /// XADD key [MAXLEN ~ n] id field value [field value ...]; returns the id of the new entry.
    /// <paramref name="id"/> is <c>*</c> (server-assigned) or an explicit <c>ms-seq</c>.
    /// </summary>
    public ValueTask<string> XAddAsync(string key, ReadOnlySpan<(string Name, RedisArg Value)> fields, string id = "*", long? maxLength = null,
        bool approximateTrim = true, CancellationToken cancellationToken = default)
    {
        if (fields.IsEmpty)
        {
            throw new ArgumentException("XADD needs at least one field.", nameof(fields));
        }

        RedisArg[] args = ArrayPool<RedisArg>.Shared.Rent(5 + (2 * fields.Length));
        int n = 0;
        args[n++] = key;
        if (maxLength is { } max)
        {
            args[n++] = "MAXLEN";
            if (approximateTrim)
            {
                args[n++] = "~";
            }

            args[n++] = max;
        }

        args[n++] = id;
        foreach ((string name, RedisArg value) in fields)
        {
            args[n++] = name;
            args[n++] = value;
        }

        return Map(SendRented("XADD", args, n, cancellationToken), static r => r.AsString()!);
    }

    /// <summary>XRANGE key start end [COUNT n]; <c>-</c>/<c>+</c> are the extremes, <c>(id</c> is exclusive.</summary>
    public ValueTask<IReadOnlyList<RedisStreamEntry>> XRangeAsync(string key, string start = "-", string end = "+", int? count = null,
        CancellationToken cancellationToken = default) =>
        Map(count is { } c
            ? ExecuteAsync("XRANGE", [key, start, end, "COUNT", c], cancellationToken)
            : ExecuteAsync("XRANGE", [key, start, end], cancellationToken), ParseEntries);

    /// <summary>XREVRANGE key end start [COUNT n]: newest first.</summary>
    public ValueTask<IReadOnlyList<RedisStreamEntry>> XRevRangeAsync(string key, string end = "+", string start = "-", int? count = null,
        CancellationToken cancellationToken = default) =>
        Map(count is { } c
            ? ExecuteAsync("XREVRANGE", [key, end, start, "COUNT", c], cancellationToken)
            : ExecuteAsync("XREVRANGE", [key, end, start], cancellationToken), ParseEntries);

    /// <summary>XLEN.</summary>
    public ValueTask<long> XLenAsync(string key, CancellationToken cancellationToken = default) =>
        Map(ExecuteAsync("XLEN", [key], cancellationToken), static r => r.AsInt64());

    /// <summary>Non-blocking XREAD of one stream: entries after <paramref name="afterId"/>.</summary>
    public ValueTask<IReadOnlyList<RedisStreamEntry>> XReadAsync(string key, string afterId, int? count = null, CancellationToken cancellationToken = default) =>
        Map(XReadAsync([new RedisStreamPosition(key, afterId)], count, cancellationToken), static results => results.Count == 0 ? [] : results[0].Entries);

    /// <summary>Non-blocking XREAD [COUNT n] STREAMS k1 k2 ... id1 id2 ...; streams with nothing new are left out.</summary>
    public ValueTask<IReadOnlyList<RedisStreamReadResult>> XReadAsync(ReadOnlySpan<RedisStreamPosition> positions, int? count = null,
        CancellationToken cancellationToken = default) =>
        Map(SendRented("XREAD", BuildRead(null, null, positions, count, null, false, out int n), n, cancellationToken), ParseRead);

    /// <summary>XGROUP CREATE key group id [MKSTREAM]. Returns false when the group already existed (BUSYGROUP).</summary>
    public async ValueTask<bool> XGroupCreateAsync(string key, string group, string startId = "$", bool createStream = true,
        CancellationToken cancellationToken = default)
    {
        try
        {
            await (createStream
                ? ExecuteAsync("XGROUP", ["CREATE", key, group, startId, "MKSTREAM"], cancellationToken)
                : ExecuteAsync("XGROUP", ["CREATE", key, group, startId], cancellationToken)).ConfigureAwait(false);
            return true;
        }
        catch (RedisServerException ex) when (ex.Prefix == "BUSYGROUP")
        {
            return false;
        }
    }

    /// <summary>
    /// Non-blocking XREADGROUP of one stream. <paramref name="id"/> <c>&gt;</c> gets never-delivered entries;
    /// any other id re-reads this consumer's pending entries after it (where XDELeted ones come back with
    /// <see cref="RedisStreamEntry.IsDeleted"/> set).
    /// </summary>
    public ValueTask<IReadOnlyList<RedisStreamEntry>> XReadGroupAsync(string group, string consumer, string key, string id = ">", int? count = null,
        bool noAck = false, CancellationToken cancellationToken = default) =>
        Map(XReadGroupAsync(group, consumer, [new RedisStreamPosition(key, id)], count, noAck, cancellationToken),
            static results => results.Count == 0 ? [] : results[0].Entries);

    /// <summary>Non-blocking XREADGROUP GROUP g c [COUNT n] [NOACK] STREAMS ...</summary>
    public ValueTask<IReadOnlyList<RedisStreamReadResult>> XReadGroupAsync(string group, string consumer, ReadOnlySpan<RedisStreamPosition> positions,
        int? count = null, bool noAck = false, CancellationToken cancellationToken = default) =>
        Map(SendRented("XREADGROUP", BuildRead(group, consumer, positions, count, null, noAck, out int n), n, cancellationToken), ParseRead);

    /// <summary>XACK; returns how many ids were pending and are now acknowledged.</summary>
    public ValueTask<long> XAckAsync(string key, string group, ReadOnlySpan<string> ids, CancellationToken cancellationToken = default)
    {
        RedisArg[] args = ArrayPool<RedisArg>.Shared.Rent(2 + ids.Length);
        int n = 0;
        args[n++] = key;
        args[n++] = group;
        foreach (string id in ids)
        {
            args[n++] = id;
        }

        return Map(SendRented("XACK", args, n, cancellationToken), static r => r.AsInt64());
    }

    /// <summary>XACK of one id.</summary>
    public ValueTask<long> XAckAsync(string key, string group, string id, CancellationToken cancellationToken = default) =>
        Map(ExecuteAsync("XACK", [key, group, id], cancellationToken), static r => r.AsInt64());

    /// <summary>XAUTOCLAIM key group consumer min-idle-time start [COUNT n].</summary>
    public ValueTask<RedisAutoClaimResult> XAutoClaimAsync(string key, string group, string consumer, long minIdleMilliseconds, string start = "0-0",
        int? count = null, CancellationToken cancellationToken = default) =>
        Map(count is { } c
            ? ExecuteAsync("XAUTOCLAIM", [key, group, consumer, minIdleMilliseconds, start, "COUNT", c], cancellationToken)
            : ExecuteAsync("XAUTOCLAIM", [key, group, consumer, minIdleMilliseconds, start], cancellationToken), static r =>
            {
                string cursor = r[0].AsString()!;
                IReadOnlyList<RedisStreamEntry> claimed = ParseEntries(r[1]);
                var deleted = new List<string>();
                if (r.Count > 2)
                {
                    foreach (RedisReply id in r[2].Elements)
                    {
                        deleted.Add(id.AsString()!);
                    }
                }

                return new RedisAutoClaimResult(cursor, claimed, deleted);
            });

    /// <summary>XPENDING key group: how many, the id range, and per consumer counts.</summary>
    public ValueTask<RedisPendingSummary> XPendingAsync(string key, string group, CancellationToken cancellationToken = default) =>
        Map(ExecuteAsync("XPENDING", [key, group], cancellationToken), static r =>
        {
            var consumers = new List<KeyValuePair<string, long>>();
            foreach (RedisReply c in r[3].Elements)
            {
                consumers.Add(new(c[0].AsString()!, c[1].AsInt64()));
            }

            return new RedisPendingSummary(r[0].AsInt64(), r[1].AsString(), r[2].AsString(), consumers);
        });

    /// <summary>XPENDING key group [IDLE ms] start end count [consumer]: one line per pending entry.</summary>
    public ValueTask<IReadOnlyList<RedisPendingEntry>> XPendingRangeAsync(string key, string group, int count, string start = "-", string end = "+",
        string? consumer = null, long? minIdleMilliseconds = null, CancellationToken cancellationToken = default)
    {
        RedisArg[] args = ArrayPool<RedisArg>.Shared.Rent(8);
        int n = 0;
        args[n++] = key;
        args[n++] = group;
        if (minIdleMilliseconds is { } idle)
        {
            args[n++] = "IDLE";
            args[n++] = idle;
        }

        args[n++] = start;
        args[n++] = end;
        args[n++] = count;
        if (consumer is not null)
        {
            args[n++] = consumer;
        }

        return Map(SendRented("XPENDING", args, n, cancellationToken), static r =>
        {
            var list = new List<RedisPendingEntry>(r.Count);
            foreach (RedisReply e in r.Elements)
            {
                list.Add(new RedisPendingEntry(e[0].AsString()!, e[1].AsString()!, e[2].AsInt64(), e[3].AsInt64()));
            }

            return (IReadOnlyList<RedisPendingEntry>)list;
        });
    }

    /// <summary>XINFO STREAM key. Throws <see cref="RedisServerException"/> (ERR no such key) when it does not exist.</summary>
    public ValueTask<RedisStreamInfo> XInfoStreamAsync(string key, CancellationToken cancellationToken = default) =>
        Map(ExecuteAsync("XINFO", ["STREAM", key], cancellationToken), static r =>
        {
            long length = 0, groups = 0;
            long? added = null;
            string lastId = "0-0";
            string? maxDeleted = null, recordedFirst = null;
            RedisStreamEntry? first = null, last = null;
            foreach (KeyValuePair<RedisReply, RedisReply> pair in r.AsPairs())
            {
                switch (pair.Key.AsString())
                {
                    case "length": length = pair.Value.AsInt64(); break;
                    case "groups": groups = pair.Value.AsInt64(); break;
                    case "last-generated-id": lastId = pair.Value.AsString()!; break;
                    case "max-deleted-entry-id": maxDeleted = pair.Value.AsString(); break;
                    case "entries-added": added = pair.Value.AsInt64(); break;
                    case "recorded-first-entry-id": recordedFirst = pair.Value.AsString(); break;
                    case "first-entry": first = pair.Value.IsNull ? null : ParseEntry(pair.Value); break;
                    case "last-entry": last = pair.Value.IsNull ? null : ParseEntry(pair.Value); break;
                    default: break;
                }
            }

            return new RedisStreamInfo(length, groups, lastId, maxDeleted, added, recordedFirst, first, last);
        });

    /// <summary>XTRIM key MAXLEN [~] n; returns how many entries were removed.</summary>
    public ValueTask<long> XTrimAsync(string key, long maxLength, bool approximate = true, CancellationToken cancellationToken = default) =>
        Map(approximate
            ? ExecuteAsync("XTRIM", [key, "MAXLEN", "~", maxLength], cancellationToken)
            : ExecuteAsync("XTRIM", [key, "MAXLEN", maxLength], cancellationToken), static r => r.AsInt64());

    /// <summary>XTRIM key MINID [~] id; removes entries older than <paramref name="minId"/>.</summary>
    public ValueTask<long> XTrimMinIdAsync(string key, string minId, bool approximate = true, CancellationToken cancellationToken = default) =>
        Map(approximate
            ? ExecuteAsync("XTRIM", [key, "MINID", "~", minId], cancellationToken)
            : ExecuteAsync("XTRIM", [key, "MINID", minId], cancellationToken), static r => r.AsInt64());

    /// <summary>XDEL; returns how many entries existed.</summary>
    public ValueTask<long> XDelAsync(string key, ReadOnlySpan<string> ids, CancellationToken cancellationToken = default)
    {
        RedisArg[] args = ArrayPool<RedisArg>.Shared.Rent(1 + ids.Length);
        int n = 0;
        args[n++] = key;
        foreach (string id in ids)
        {
            args[n++] = id;
        }

        return Map(SendRented("XDEL", args, n, cancellationToken), static r => r.AsInt64());
    }

    /// <summary>XDEL of one id.</summary>
    public ValueTask<long> XDelAsync(string key, string id, CancellationToken cancellationToken = default) =>
        Map(ExecuteAsync("XDEL", [key, id], cancellationToken), static r => r.AsInt64());

    // ---- parsing -----------------------------------------------------------------------------------

    /// <summary>Builds [GROUP g c] [COUNT n] [BLOCK ms] [NOACK] STREAMS k... id... in a pooled array.</summary>
    internal static RedisArg[] BuildRead(string? group, string? consumer, ReadOnlySpan<RedisStreamPosition> positions, int? count, int? blockMs,
        bool noAck, out int n)
    {
        if (positions.IsEmpty)
        {
            throw new ArgumentException("At least one stream is needed.", nameof(positions));
        }

        RedisArg[] args = ArrayPool<RedisArg>.Shared.Rent(9 + (2 * positions.Length));
        n = 0;
        if (group is not null)
        {
            args[n++] = "GROUP";
            args[n++] = group;
            args[n++] = consumer!;
        }

        if (count is { } c)
        {
            args[n++] = "COUNT";
            args[n++] = c;
        }

        if (blockMs is { } block)
        {
            args[n++] = "BLOCK";
            args[n++] = block;
        }

        if (noAck)
        {
            args[n++] = "NOACK";
        }

        args[n++] = "STREAMS";
        foreach (RedisStreamPosition p in positions)
        {
            args[n++] = p.Key;
        }

        foreach (RedisStreamPosition p in positions)
        {
            args[n++] = p.Id;
        }

        return args;
    }

    /// <summary>XREAD/XREADGROUP reply: RESP2 [[key, entries], ...], RESP3 {key: entries}, or null for nothing.</summary>
    internal static IReadOnlyList<RedisStreamReadResult> ParseRead(RedisReply reply)
    {
        if (reply.IsNull)
        {
            return [];
        }

        var results = new List<RedisStreamReadResult>();
        if (reply.Kind == RedisReplyKind.Map)
        {
            foreach (KeyValuePair<RedisReply, RedisReply> pair in reply.AsPairs())
            {
                results.Add(new RedisStreamReadResult(pair.Key.AsString()!, ParseEntries(pair.Value)));
            }
        }
        else
        {
            foreach (RedisReply stream in reply.Elements)
            {
                results.Add(new RedisStreamReadResult(stream[0].AsString()!, ParseEntries(stream[1])));
            }
        }

        return results;
    }

    internal static IReadOnlyList<RedisStreamEntry> ParseEntries(RedisReply reply)
    {
        if (reply.IsNull || reply.Count == 0)
        {
            return [];
        }

        var entries = new RedisStreamEntry[reply.Count];
        for (int i = 0; i < entries.Length; i++)
        {
            entries[i] = ParseEntry(reply[i]);
        }

        return entries;
    }

    /// <summary>[id, [f1, v1, f2, v2...]]; the field list is nil for an entry deleted while pending.</summary>
    internal static RedisStreamEntry ParseEntry(RedisReply reply)
    {
        if (reply.IsNull || reply.Count < 2)
        {
            throw new RedisProtocolException($"Unexpected stream entry shape: {reply}");
        }

        string id = reply[0].AsString()!;
        RedisReply body = reply[1];
        if (body.IsNull)
        {
            return new RedisStreamEntry(id, null);
        }

        var fields = new RedisField[body.Kind == RedisReplyKind.Map ? body.Count / 2 : body.Count / 2];
        int i = 0;
        foreach (KeyValuePair<RedisReply, RedisReply> pair in body.AsPairs())
        {
            fields[i++] = new RedisField(pair.Key.AsString()!, pair.Value.Memory);
        }

        return new RedisStreamEntry(id, fields);
    }
}
