using System.Text;

namespace RealtimeAgents.Redis;

/// <summary>A field of a stream entry: the name as text, the value as the raw bytes the server stored.</summary>
public readonly record struct RedisField(string Name, ReadOnlyMemory<byte> Value)
{
    public RedisField(string name, string value) : this(name, Encoding.UTF8.GetBytes(value))
    {
    }

    /// <summary>The value decoded as UTF-8.</summary>
    public string ValueString => Encoding.UTF8.GetString(Value.Span);

    public override string ToString() => Name + "=" + ValueString;
}

/// <summary>
/// One stream entry. An entry that was XDELeted after being delivered to a consumer group still shows up
/// in that consumer's pending list with no fields (Redis sends nil): then <see cref="IsDeleted"/> is true
/// and <see cref="Fields"/> is empty.
/// </summary>
public sealed class RedisStreamEntry
{
    public RedisStreamEntry(string id, IReadOnlyList<RedisField>? fields)
    {
        Id = id;
        IsDeleted = fields is null;
        Fields = fields ?? [];
    }

    /// <summary>The entry id, <c>ms-seq</c>.</summary>
    public string Id { get; }

    public IReadOnlyList<RedisField> Fields { get; }

    public bool IsDeleted { get; }

    /// <summary>The first field named <paramref name="name"/>, or null.</summary>
    public ReadOnlyMemory<byte>? this[string name]
    {
        get
        {
            foreach (RedisField f in Fields)
            {
                if (f.Name == name)
                {
                    return f.Value;
                }
            }

            return null;
        }
    }

    /// <summary>The first field named <paramref name="name"/> decoded as UTF-8, or null.</summary>
    public string? GetString(string name) => this[name] is { } value ? Encoding.UTF8.GetString(value.Span) : null;

    public override string ToString() => IsDeleted ? Id + " (deleted)" : Id + " {" + string.Join(", ", Fields) + "}";
}

/// <summary>The entries XREAD/XREADGROUP returned for one stream key.</summary>
public sealed record RedisStreamReadResult(string Key, IReadOnlyList<RedisStreamEntry> Entries);

/// <summary>Where to read a stream from: a key and the id after which entries are wanted
/// (<c>0</c> = from the start, <c>$</c> = only new, <c>&gt;</c> = never-delivered for XREADGROUP).</summary>
public readonly record struct RedisStreamPosition(string Key, string Id);

/// <summary>XAUTOCLAIM's answer. <see cref="NextCursor"/> is <c>0-0</c> once the whole PEL was scanned;
/// <see cref="DeletedIds"/> lists pending ids whose entries no longer exist (Redis 7 removed them from the PEL).</summary>
public sealed record RedisAutoClaimResult(string NextCursor, IReadOnlyList<RedisStreamEntry> Claimed, IReadOnlyList<string> DeletedIds);

/// <summary>XPENDING key group (summary form).</summary>
public sealed record RedisPendingSummary(long Count, string? SmallestId, string? LargestId, IReadOnlyList<KeyValuePair<string, long>> Consumers);

/// <summary>One line of XPENDING's extended form.</summary>
public sealed record RedisPendingEntry(string Id, string Consumer, long IdleMilliseconds, long DeliveryCount);

/// <summary>XINFO STREAM (Redis 7 fields; those an older server lacks are null).</summary>
public sealed record RedisStreamInfo(
    long Length,
    long Groups,
    string LastGeneratedId,
    string? MaxDeletedEntryId,
    long? EntriesAdded,
    string? RecordedFirstEntryId,
    RedisStreamEntry? FirstEntry,
    RedisStreamEntry? LastEntry);
