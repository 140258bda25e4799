using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RealtimeAgents.Contracts;
using StackExchange.Redis;

namespace RealtimeAgents.Core.Redis;

/// <summary>
/// The event log on Redis Streams: one stream per task, appended by append_event.lua (seq,
/// fence, XADD MAXLEN ~, epoch, SPUBLISH, TTL on the terminal event in one atomic step, in the
/// task's slot). Live listeners of a task on this process share one sharded subscription, read
/// in order from its <see cref="ChannelMessageQueue"/>; each message becomes one
/// <see cref="EventRecord"/> for all of them, its header read and its payload left as bytes.
/// When a subscriber connection drops or comes back, every listener is told it may have missed
/// events and heals from the stream.
/// </summary>
public sealed partial class RedisEventLog : IEventLog, IDisposable
{
    // How many tasks' highest handed-out seq this process remembers (see SeenSeq).
    private const int MaxRememberedTasks = 100_000;

    private readonly IConnectionMultiplexer _redis;
    private readonly IDatabase _db;
    private readonly RedisKeys _keys;
    private readonly ILogger<RedisEventLog> _logger;
    private readonly ConcurrentDictionary<string, LiveFeed> _feeds = new(StringComparer.Ordinal);
    // The highest seq each task's stream handed this process. Passed with the next append, it lets
    // the script notice a server that lost appends (a promoted replica) and never reuse a seq.
    private readonly ConcurrentDictionary<string, long> _seenSeq = new(StringComparer.Ordinal);
    private readonly RedisValue _maxLength;
    private readonly RedisValue _ttlMs;

    /// <summary>Creates the log over a multiplexer.</summary>
    public RedisEventLog(IConnectionMultiplexer redis, RedisKeys keys, IOptions<EventLogOptions> options, ILogger<RedisEventLog> logger)
    {
        _redis = redis;
        _db = redis.GetDatabase();
        _keys = keys;
        _logger = logger;
        _maxLength = options.Value.MaxLength;
        _ttlMs = (long)options.Value.TerminalTtl.TotalMilliseconds;
        _redis.ConnectionFailed += OnConnectionChanged;
        _redis.ConnectionRestored += OnConnectionChanged;
    }

    /// <inheritdoc />
    public async ValueTask<EventRecord> AppendAsync(string taskId, string threadId, string kind, ReadOnlyMemory<byte> data, double ts,
        int attempt = 0, CancellationToken cancellationToken = default)
    {
        RedisValue json = data.IsEmpty ? Null : data;
        string tsText = ts.ToString("0.###", CultureInfo.InvariantCulture);
        string token = Guid.NewGuid().ToString("N");
        bool terminal = EventKinds.IsTerminal(kind);
        RedisKey[] keys = [_keys.Events(taskId), _keys.EventsMeta(taskId)];
        // The token lets a retry after a dropped connection return the first try's result
        // instead of appending the event twice.
        var reply = (RedisResult[])(await RedisRetry.RunAsync(() => RedisScripts.AppendEvent.EvaluateAsync(_db, keys,
            [_keys.LiveChannel(taskId), taskId, threadId, kind, json, tsText, attempt, _maxLength,
                terminal ? "1" : "0", _ttlMs, token, _seenSeq.GetValueOrDefault(taskId)]), cancellationToken).ConfigureAwait(false))!;
        long seq = (long)reply[0];
        if (seq < 0) throw new StaleAttemptException(taskId, attempt, (int)reply[1]);
        Remember(taskId, seq, terminal);
        return new EventRecord(taskId, threadId, seq, StreamId.Parse((string)reply[1]!), kind, ts, data);
    }

    private void Remember(string taskId, long seq, bool terminal)
    {
        if (terminal)
        {
            _seenSeq.TryRemove(taskId, out _);
            return;
        }
        // One writer appends to a task at a time: a plain update is enough, and the size check
        // (which locks the whole dictionary) runs once per task, not once per append.
        if (_seenSeq.TryGetValue(taskId, out long known))
        {
            if (seq > known) _seenSeq.TryUpdate(taskId, seq, known);
            return;
        }
        // Bounded: a process that appends to more tasks than this at once forgets them all, which
        // only turns the loss check off for their next append.
        if (_seenSeq.Count >= MaxRememberedTasks) _seenSeq.Clear();
        _seenSeq.TryAdd(taskId, seq);
    }

    /// <inheritdoc />
    public async ValueTask<IReadOnlyList<EventRecord>> ReadAsync(string taskId, StreamId after, int maxCount,
        CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxCount);
        string start = after == StreamId.Zero ? "-" : "(" + after;
        var entries = await _db.StreamRangeAsync(_keys.Events(taskId), start, "+", maxCount).ConfigureAwait(false);
        var events = new EventRecord[entries.Length];
        for (int i = 0; i < entries.Length; i++) events[i] = ToEvent(taskId, entries[i]);
        return events;
    }

    /// <inheritdoc />
    public async ValueTask<EventStreamInfo?> GetInfoAsync(string taskId, CancellationToken cancellationToken = default)
    {
        var result = await RedisScripts.StreamInfo.EvaluateAsync(_db, [_keys.Events(taskId), _keys.EventsMeta(taskId)])
            .ConfigureAwait(false);
        if (result.IsNull || result.Resp2Type != ResultType.Array) return null; // Lua false arrives as nil
        var reply = (RedisResult[])result!;
        if (reply.Length < 8) return null;
        var firstId = StreamId.Parse((string)reply[1]!);
        var deleted = StreamId.Parse((string)reply[4]!);
        // Trimmed entries all lie below the first retained one; the greatest of them is at most
        // the id just before it, and a cursor at or above that has lost nothing. (Conservative:
        // a cursor on the very last trimmed entry may be told it was not recovered.)
        if (long.Parse((string)reply[7]!, CultureInfo.InvariantCulture) > 1)
        {
            var beforeFirst = firstId.N > 0 ? firstId with { N = firstId.N - 1 } : new StreamId(firstId.Ms - 1, long.MaxValue);
            if (beforeFirst > deleted) deleted = beforeFirst;
        }
        return new EventStreamInfo(
            Epoch: StreamId.Parse((string)reply[0]!),
            FirstId: firstId,
            LastId: StreamId.Parse((string)reply[2]!),
            LastSeq: long.Parse((string)reply[3]!, CultureInfo.InvariantCulture),
            MaxDeletedId: deleted,
            Length: (long)reply[5],
            Terminal: (string)reply[6]! == "1");
    }

    /// <inheritdoc />
    public async ValueTask<IAsyncDisposable> SubscribeAsync(string taskId, IEventListener listener,
        CancellationToken cancellationToken = default)
    {
        while (true)
        {
            var feed = _feeds.GetOrAdd(taskId, id => new LiveFeed(this, id));
            if (await feed.AddAsync(listener, cancellationToken).ConfigureAwait(false))
            {
                return new Registration(feed, listener);
            }
            // The feed closed as we arrived (its last listener left): make a new one.
            _feeds.TryRemove(new KeyValuePair<string, LiveFeed>(taskId, feed));
        }
    }

    private static EventRecord ToEvent(string taskId, StreamEntry entry)
    {
        var data = (ReadOnlyMemory<byte>)entry["data"];
        if (data.Span.SequenceEqual(Null.Span)) data = default;
        return new EventRecord(taskId, (string?)entry["thread"] ?? "", (long)entry["seq"], StreamId.Parse((string)entry.Id!),
            (string)entry["kind"]!, double.Parse((string)entry["ts"]!, CultureInfo.InvariantCulture), data);
    }

    // How a stream entry and a published event spell "no payload".
    private static readonly ReadOnlyMemory<byte> Null = "null"u8.ToArray();

    // A subscriber connection that failed or came back may have dropped messages: every feed
    // heals from its stream (cheap: a read from each listener's last id).
    private void OnConnectionChanged(object? sender, ConnectionFailedEventArgs e)
    {
        foreach (var feed in _feeds.Values) feed.NotifyMissed();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _redis.ConnectionFailed -= OnConnectionChanged;
        _redis.ConnectionRestored -= OnConnectionChanged;
    }

    [LoggerMessage(EventId = 40, EventName = "LiveEventUnreadable", Level = LogLevel.Warning,
        Message = "A live event on {Channel} could not be read; its listeners will heal from the stream.")]
    private static partial void LogUnreadable(ILogger logger, Exception exception, string channel);

    /// <summary>One sharded subscription shared by every listener of a task on this process.</summary>
    private sealed class LiveFeed(RedisEventLog log, string taskId)
    {
        private readonly SemaphoreSlim _gate = new(1, 1);
        private IEventListener[] _listeners = [];
        private ChannelMessageQueue? _queue;
        private bool _closed;
        // The task's previous event, whose strings the next one reuses (read and written by the queue's one loop).
        private EventRecord? _last;

        public string Channel { get; } = log._keys.LiveChannel(taskId);

        public async ValueTask<bool> AddAsync(IEventListener listener, CancellationToken ct)
        {
            await _gate.WaitAsync(ct).ConfigureAwait(false);
            try
            {
                if (_closed) return false;
                if (_queue is null)
                {
                    // A ChannelMessageQueue hands messages over one at a time, in the order Redis
                    // sent them: a task's events reach its listeners in seq order.
                    _queue = await log._redis.GetSubscriber().SubscribeAsync(RedisChannel.Sharded(Channel)).ConfigureAwait(false);
                    _queue.OnMessage(OnMessage);
                }
                _listeners = [.. _listeners, listener];
                return true;
            }
            finally
            {
                _gate.Release();
            }
        }

        public async ValueTask RemoveAsync(IEventListener listener)
        {
            ChannelMessageQueue? toClose = null;
            await _gate.WaitAsync().ConfigureAwait(false);
            try
            {
                _listeners = Array.FindAll(_listeners, l => !ReferenceEquals(l, listener));
                if (_listeners.Length == 0 && !_closed)
                {
                    _closed = true;
                    toClose = _queue;
                    log._feeds.TryRemove(new KeyValuePair<string, LiveFeed>(taskId, this));
                }
            }
            finally
            {
                _gate.Release();
            }
            if (toClose is null) return;
            try
            {
                await toClose.UnsubscribeAsync().ConfigureAwait(false);
            }
            catch (Exception ex) when (RedisRetry.IsTransient(ex))
            {
                // Disconnected: the subscription is gone with the connection, and the
                // multiplexer does not restore one that was unsubscribed.
            }
        }

        public void NotifyMissed()
        {
            foreach (var l in Volatile.Read(ref _listeners)) l.OnMissed();
        }

        private void OnMessage(ChannelMessage message)
        {
            EventRecord ev;
            try
            {
                ev = EventRecord.Parse((ReadOnlyMemory<byte>)message.Message, _last);
                _last = ev;
            }
            catch (JsonException ex)
            {
                LogUnreadable(log._logger, ex, Channel);
                NotifyMissed();
                return;
            }
            foreach (var l in Volatile.Read(ref _listeners)) l.OnEvent(ev);
        }
    }

    private sealed class Registration(LiveFeed feed, IEventListener listener) : IAsyncDisposable
    {
        private int _disposed;

        public ValueTask DisposeAsync() =>
            Interlocked.Exchange(ref _disposed, 1) == 0 ? feed.RemoveAsync(listener) : ValueTask.CompletedTask;
    }
}
