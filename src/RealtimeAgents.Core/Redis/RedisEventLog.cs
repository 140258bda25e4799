using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RealtimeAgents.Contracts;
using RealtimeAgents.Redis;

namespace RealtimeAgents.Core.Redis;

/// <summary>
/// The event log on Redis Streams: one stream per task, appended by append_event.lua (seq,
/// fence, XADD MAXLEN ~, epoch, PUBLISH, TTL on the terminal event in one atomic step). Live
/// listeners of a task on this process share one pub/sub subscription, and each message is
/// parsed once for all of them. When the subscriber connection drops, every listener is told
/// it may have missed events and heals from the stream.
/// </summary>
public sealed partial class RedisEventLog : IEventLog, IAsyncDisposable
{
    private readonly RedisClient _redis;
    private readonly RedisKeys _keys;
    private readonly EventLogOptions _options;
    private readonly ILogger<RedisEventLog> _logger;
    private readonly ConcurrentDictionary<string, LiveFeed> _feeds = new(StringComparer.Ordinal);
    private readonly string _maxLength;
    private readonly string _ttlMs;

    /// <summary>Creates the log over a connected client.</summary>
    public RedisEventLog(RedisClient redis, RedisKeys keys, IOptions<EventLogOptions> options, ILogger<RedisEventLog> logger)
    {
        _redis = redis;
        _keys = keys;
        _options = options.Value;
        _logger = logger;
        _maxLength = _options.MaxLength.ToString(CultureInfo.InvariantCulture);
        _ttlMs = ((long)_options.TerminalTtl.TotalMilliseconds).ToString(CultureInfo.InvariantCulture);
        _redis.Subscriber.MessagesMayHaveBeenLost += OnMessagesMayHaveBeenLost;
    }

    /// <inheritdoc />
    public async ValueTask<AgentEvent> AppendAsync(string taskId, string threadId, string kind, JsonElement data, double ts,
        int attempt = 0, CancellationToken cancellationToken = default)
    {
        string json = data.ValueKind == JsonValueKind.Undefined ? "null" : data.GetRawText();
        string tsText = ts.ToString("0.###", CultureInfo.InvariantCulture);
        string token = Guid.NewGuid().ToString("N");
        // The token lets a retry after a dropped connection return the first try's result
        // instead of appending the event twice.
        var reply = await RedisRetry.RunAsync(() => _redis.EvaluateAsync(RedisScripts.AppendEvent,
            [_keys.Events(taskId), _keys.EventsMeta(taskId)],
            [_keys.LiveChannel(taskId), taskId, threadId, kind, json, tsText, attempt, _maxLength,
                EventKinds.IsTerminal(kind) ? "1" : "0", _ttlMs, token],
            cancellationToken), cancellationToken).ConfigureAwait(false);
        long seq = reply[0].AsInt64();
        if (seq < 0) throw new StaleAttemptException(taskId, attempt, (int)reply[1].AsInt64());
        return new AgentEvent
        {
            TaskId = taskId, ThreadId = threadId, Seq = seq, Id = reply[1].AsString()!, Kind = kind, Ts = ts,
            Data = data.ValueKind == JsonValueKind.Undefined ? default : data.Clone(),
        };
    }

    /// <inheritdoc />
    public async ValueTask<IReadOnlyList<AgentEvent>> ReadAsync(string taskId, StreamId after, int maxCount,
        CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxCount);
        string start = after == StreamId.Zero ? "-" : "(" + after;
        var entries = await _redis.XRangeAsync(_keys.Events(taskId), start, "+", maxCount, cancellationToken).ConfigureAwait(false);
        var events = new AgentEvent[entries.Count];
        for (int i = 0; i < entries.Count; i++) events[i] = ToEvent(taskId, entries[i]);
        return events;
    }

    /// <inheritdoc />
    public async ValueTask<EventStreamInfo?> GetInfoAsync(string taskId, CancellationToken cancellationToken = default)
    {
        var reply = await _redis.EvaluateAsync(RedisScripts.StreamInfo, [_keys.Events(taskId), _keys.EventsMeta(taskId)], null,
            cancellationToken).ConfigureAwait(false);
        if (reply.IsNull || reply.Count < 8) return null; // Lua false arrives as nil
        var firstId = StreamId.Parse(reply[1].AsString()!);
        var deleted = StreamId.Parse(reply[4].AsString()!);
        // Trimmed entries all lie below the first retained one; the greatest of them is at most
        // the id just before it, and a cursor at or above that has lost nothing. (Conservative:
        // a cursor on the very last trimmed entry may be told it was not recovered.)
        if (long.Parse(reply[7].AsString()!, CultureInfo.InvariantCulture) > 1)
        {
            var beforeFirst = firstId.N > 0 ? firstId with { N = firstId.N - 1 } : new StreamId(firstId.Ms - 1, long.MaxValue);
            if (beforeFirst > deleted) deleted = beforeFirst;
        }
        return new EventStreamInfo(
            Epoch: StreamId.Parse(reply[0].AsString()!),
            FirstId: firstId,
            LastId: StreamId.Parse(reply[2].AsString()!),
            LastSeq: long.Parse(reply[3].AsString()!, CultureInfo.InvariantCulture),
            MaxDeletedId: deleted,
            Length: reply[5].AsInt64(),
            Terminal: reply[6].AsString() == "1");
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

    private static AgentEvent ToEvent(string taskId, RedisStreamEntry entry)
    {
        var data = entry["data"];
        JsonElement element = default;
        if (data is { } bytes)
        {
            using var doc = JsonDocument.Parse(bytes);
            element = doc.RootElement.ValueKind == JsonValueKind.Null ? default : doc.RootElement.Clone();
        }
        return new AgentEvent
        {
            TaskId = taskId,
            ThreadId = entry.GetString("thread") ?? "",
            Seq = long.Parse(entry.GetString("seq")!, CultureInfo.InvariantCulture),
            Id = entry.Id,
            Kind = entry.GetString("kind")!,
            Ts = double.Parse(entry.GetString("ts")!, CultureInfo.InvariantCulture),
            Data = element,
        };
    }

    private void OnMessagesMayHaveBeenLost(IReadOnlyList<string> channels)
    {
        var lost = channels.Count == 0 ? null : new HashSet<string>(channels, StringComparer.Ordinal);
        foreach (var feed in _feeds.Values)
        {
            if (lost is null || lost.Contains(feed.Channel)) feed.NotifyMissed();
        }
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync()
    {
        _redis.Subscriber.MessagesMayHaveBeenLost -= OnMessagesMayHaveBeenLost;
        return ValueTask.CompletedTask;
    }

    [LoggerMessage(EventId = 40, EventName = "LiveEventUnreadable", Level = LogLevel.Warning,
        Message = "A live event on {Channel} could not be read; its listeners will heal from the stream.")]
    private static partial void LogUnreadable(ILogger logger, Exception exception, string channel);

    /// <summary>One pub/sub subscription shared by every listener of a task on this process.</summary>
    private sealed class LiveFeed(RedisEventLog log, string taskId)
    {
        private readonly SemaphoreSlim _gate = new(1, 1);
        private IEventListener[] _listeners = [];
        private IAsyncDisposable? _subscription;
        private bool _closed;

        public string Channel { get; } = log._keys.LiveChannel(taskId);

        public async ValueTask<bool> AddAsync(IEventListener listener, CancellationToken ct)
        {
            await _gate.WaitAsync(ct).ConfigureAwait(false);
            try
            {
                if (_closed) return false;
                _subscription ??= await log._redis.Subscriber.SubscribeAsync(Channel, OnMessageAsync, ct).ConfigureAwait(false);
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
            IAsyncDisposable? toClose = null;
            await _gate.WaitAsync().ConfigureAwait(false);
            try
            {
                _listeners = Array.FindAll(_listeners, l => !ReferenceEquals(l, listener));
                if (_listeners.Length == 0 && !_closed)
                {
                    _closed = true;
                    toClose = _subscription;
                    log._feeds.TryRemove(new KeyValuePair<string, LiveFeed>(taskId, this));
                }
            }
            finally
            {
                _gate.Release();
            }
            if (toClose is not null) await toClose.DisposeAsync().ConfigureAwait(false);
        }

        public void NotifyMissed()
        {
            foreach (var l in Volatile.Read(ref _listeners)) l.OnMissed();
        }

        private ValueTask OnMessageAsync(string channel, ReadOnlyMemory<byte> message)
        {
            AgentEvent? ev;
            try
            {
                ev = JsonSerializer.Deserialize(message.Span, ContractsJsonContext.Default.AgentEvent);
            }
            catch (JsonException ex)
            {
                LogUnreadable(log._logger, ex, channel);
                NotifyMissed();
                return ValueTask.CompletedTask;
            }
            if (ev is null) return ValueTask.CompletedTask;
            foreach (var l in Volatile.Read(ref _listeners)) l.OnEvent(ev);
            return ValueTask.CompletedTask;
        }
    }

    private sealed class Registration(LiveFeed feed, IEventListener listener) : IAsyncDisposable
    {
        private int _disposed;

        public ValueTask DisposeAsync() =>
            Interlocked.Exchange(ref _disposed, 1) == 0 ? feed.RemoveAsync(listener) : ValueTask.CompletedTask;
    }
}
