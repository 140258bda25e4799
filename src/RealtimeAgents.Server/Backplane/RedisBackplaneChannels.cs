namespace RealtimeAgents.Server.Backplane;

/// <summary>
/// Every Redis channel the backplane uses, in one place. All names start with
/// <c>{prefix}{hub type full name}:</c>. Names are concatenated literally and SUBSCRIBE is literal
/// (no PSUBSCRIBE anywhere), so a group or user name containing <c>*</c>, <c>:</c> or <c>?</c> is just
/// part of its channel's name; the kind segment (<c>group:</c>, <c>user:</c>, ...) sits before the
/// caller's text, so a group can never collide with a user, a connection or an internal channel.
/// </summary>
internal sealed class RedisBackplaneChannels
{
    private readonly string _prefix;

    public RedisBackplaneChannels(string channelPrefix, string hubName)
    {
        _prefix = channelPrefix + hubName + ":";
        All = _prefix + "all";
        GroupManagement = _prefix + "internal:groups";
    }

    /// <summary><c>{p}{hub}:all</c>: every node subscribes; invocations for all connections.</summary>
    public string All { get; }

    /// <summary><c>{p}{hub}:internal:groups</c>: every node subscribes; add/remove commands for connections on other nodes.</summary>
    public string GroupManagement { get; }

    /// <summary><c>{p}{hub}:internal:ack:{node}</c>: one node subscribes; acks of the group commands it sent.</summary>
    public string Ack(string serverName) => _prefix + "internal:ack:" + serverName;

    /// <summary><c>{p}{hub}:connection:{id}</c>: the node holding the connection subscribes while it is connected.</summary>
    public string Connection(string connectionId) => _prefix + "connection:" + connectionId;

    /// <summary><c>{p}{hub}:group:{name}</c>: a node subscribes while it has at least one local member.</summary>
    public string Group(string groupName) => _prefix + "group:" + groupName;

    /// <summary><c>{p}{hub}:user:{id}</c>: a node subscribes while it has at least one local connection of the user.</summary>
    public string User(string userId) => _prefix + "user:" + userId;

    /// <summary>True for channels of this hub (used to pick ours out of the subscriber's reconnect report).</summary>
    public bool IsOurs(string channel) => channel.StartsWith(_prefix, StringComparison.Ordinal);
}
