using System.Collections.Concurrent;
using Microsoft.AspNetCore.SignalR;

namespace RealtimeAgents.Server.Backplane;

/// <summary>
/// The local members of each group (or user) channel, and the one Redis subscription the node holds for it
/// while it has at least one local member. Reads (who is in this group here?) are lock-free; changes are
/// serialized so a SUBSCRIBE and the UNSUBSCRIBE of the same channel can never cross.
/// </summary>
internal sealed class RedisBackplaneSubscriptions
{
    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _gate = new(1, 1);

    /// <summary>The local members of <paramref name="channel"/> (none when the node has none).</summary>
    public IEnumerable<HubConnectionContext> Members(string channel) =>
        _entries.TryGetValue(channel, out Entry? entry) ? entry.Members.Values : [];

    /// <summary>Channels with local members (for tests and disposal).</summary>
    public ICollection<string> Channels => _entries.Keys;

    /// <summary>Adds a local member; the first one subscribes, and this returns once Redis confirmed it.</summary>
    public async Task AddAsync(string channel, HubConnectionContext connection,
        Func<string, Task<IAsyncDisposable>> subscribe)
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            if (!_entries.TryGetValue(channel, out Entry? entry))
            {
                entry = new Entry(await subscribe(channel).ConfigureAwait(false));
                _entries[channel] = entry;
            }

            entry.Members[connection.ConnectionId] = connection;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Removes a local member; the last one unsubscribes.</summary>
    public async Task RemoveAsync(string channel, HubConnectionContext connection, Func<string, IAsyncDisposable, Task> unsubscribe)
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            if (!_entries.TryGetValue(channel, out Entry? entry))
            {
                return;
            }

            entry.Members.TryRemove(connection.ConnectionId, out _);
            if (entry.Members.IsEmpty)
            {
                _entries.TryRemove(channel, out _);
                await unsubscribe(channel, entry.Subscription).ConfigureAwait(false);
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Drops every entry and hands back their subscriptions (on shutdown).</summary>
    public IReadOnlyList<IAsyncDisposable> Clear()
    {
        var subscriptions = new List<IAsyncDisposable>();
        foreach (string channel in _entries.Keys)
        {
            if (_entries.TryRemove(channel, out Entry? entry))
            {
                subscriptions.Add(entry.Subscription);
            }
        }

        return subscriptions;
    }

    private sealed class Entry(IAsyncDisposable subscription)
    {
        public ConcurrentDictionary<string, HubConnectionContext> Members { get; } = new(StringComparer.Ordinal);

        public IAsyncDisposable Subscription { get; } = subscription;
    }
}
