using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using RealtimeAgents.Contracts;

namespace RealtimeAgents.Core.InMemory;

/// <summary>
/// The event log in process memory, with the Redis log's semantics: ids <c>&lt;ms&gt;-&lt;n&gt;</c>
/// from the clock, an epoch per stream incarnation, trimming to MaxLength and expiry after the
/// terminal event. Append and publish happen under the stream's lock, so listeners see one
/// task's events in order and only after they are readable.
/// </summary>
public sealed class InMemoryEventLog : IEventLog
{
    private readonly ConcurrentDictionary<string, TaskStream> _streams = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, ListenerSet> _listeners = new(StringComparer.Ordinal);
    private readonly EventLogOptions _options;
    private readonly TimeProvider _time;
    private long _lastSweep;

    /// <summary>Creates the log.</summary>
    public InMemoryEventLog(IOptions<EventLogOptions> options, TimeProvider? time = null)
    {
        _options = options.Value;
        _time = time ?? TimeProvider.System;
    }

    /// <inheritdoc />
    public ValueTask<EventRecord> AppendAsync(string taskId, string threadId, string kind, ReadOnlyMemory<byte> data, double ts,
        int attempt = 0, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        SweepExpired();
        while (true)
        {
            var stream = _streams.GetOrAdd(taskId, static _ => new TaskStream());
            lock (stream)
            {
                if (stream.Removed) continue; // lost a race with expiry: take the new incarnation
                if (stream.IsExpired(Now))
                {
                    stream.Removed = true;
                    _streams.TryRemove(new KeyValuePair<string, TaskStream>(taskId, stream));
                    continue;
                }
                if (attempt > 0)
                {
                    if (attempt < stream.Fence) throw new StaleAttemptException(taskId, attempt, stream.Fence);
                    stream.Fence = attempt;
                }
                long ms = _time.GetUtcNow().ToUnixTimeMilliseconds();
                var id = ms > stream.LastId.Ms ? new StreamId(ms, 0) : stream.LastId.Next();
                var ev = new EventRecord(taskId, threadId, stream.LastSeq + 1, id, kind, ts, data);
                if (stream.LastSeq == 0) stream.Epoch = id;
                stream.Entries.Add(ev);
                stream.LastId = id;
                stream.LastSeq = ev.Seq;
                int excess = stream.Entries.Count - _options.MaxLength;
                if (excess > 0)
                {
                    stream.MaxDeletedId = stream.Entries[excess - 1].Id;
                    stream.Entries.RemoveRange(0, excess);
                }
                if (EventKinds.IsTerminal(kind))
                {
                    stream.Terminal = true;
                    stream.ExpiresAt = Now + _options.TerminalTtl.Ticks;
                }
                if (_listeners.TryGetValue(taskId, out var set))
                {
                    foreach (var listener in set.Snapshot) listener.OnEvent(ev);
                }
                return ValueTask.FromResult(ev);
            }
        }
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<EventRecord>> ReadAsync(string taskId, StreamId after, int maxCount,
        CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxCount);
        var stream = Live(taskId);
        if (stream is null) return ValueTask.FromResult<IReadOnlyList<EventRecord>>([]);
        lock (stream)
        {
            var entries = stream.Entries;
            int lo = 0, hi = entries.Count;
            while (lo < hi)
            {
                int mid = (lo + hi) >>> 1;
                if (entries[mid].Id <= after) lo = mid + 1; else hi = mid;
            }
            int count = Math.Min(maxCount, entries.Count - lo);
            return ValueTask.FromResult<IReadOnlyList<EventRecord>>(entries.GetRange(lo, count).ToArray());
        }
    }

    /// <inheritdoc />
    public ValueTask<EventStreamInfo?> GetInfoAsync(string taskId, CancellationToken cancellationToken = default)
    {
        var stream = Live(taskId);
        if (stream is null) return ValueTask.FromResult<EventStreamInfo?>(null);
        lock (stream)
        {
            var first = stream.Entries.Count > 0 ? stream.Entries[0].Id : StreamId.Zero;
            return ValueTask.FromResult<EventStreamInfo?>(new EventStreamInfo(stream.Epoch, first, stream.LastId,
                stream.LastSeq, stream.MaxDeletedId, stream.Entries.Count, stream.Terminal));
        }
    }

    /// <inheritdoc />
    public ValueTask<IAsyncDisposable> SubscribeAsync(string taskId, IEventListener listener,
        CancellationToken cancellationToken = default)
    {
        var set = _listeners.GetOrAdd(taskId, static _ => new ListenerSet());
        set.Add(listener);
        return ValueTask.FromResult<IAsyncDisposable>(new Registration(this, taskId, set, listener));
    }

    /// <summary>Number of task streams held (expired ones included until swept).</summary>
    internal int StreamCount => _streams.Count;

    private long Now => _time.GetUtcNow().UtcTicks;

    private TaskStream? Live(string taskId)
    {
        if (!_streams.TryGetValue(taskId, out var stream)) return null;
        lock (stream)
        {
            if (!stream.IsExpired(Now)) return stream;
            stream.Removed = true;
            _streams.TryRemove(new KeyValuePair<string, TaskStream>(taskId, stream));
            return null;
        }
    }

    // Expired streams are dropped when touched; this sweep frees the ones nobody touches again.
    private void SweepExpired()
    {
        long now = Now, last = Interlocked.Read(ref _lastSweep);
        if (now - last < TimeSpan.TicksPerMinute || Interlocked.CompareExchange(ref _lastSweep, now, last) != last) return;
        foreach (var (taskId, _) in _streams) Live(taskId);
    }

    private sealed class TaskStream
    {
        public readonly List<EventRecord> Entries = [];
        public StreamId Epoch;
        public StreamId LastId;
        public long LastSeq;
        public int Fence;
        public StreamId MaxDeletedId;
        public bool Terminal;
        public long ExpiresAt = long.MaxValue;
        public bool Removed;

        public bool IsExpired(long now) => now >= ExpiresAt;
    }

    private sealed class ListenerSet
    {
        private IEventListener[] _snapshot = [];
        public IEventListener[] Snapshot => Volatile.Read(ref _snapshot);

        public void Add(IEventListener l) { lock (this) _snapshot = [.. _snapshot, l]; }

        public bool Remove(IEventListener l)
        {
            lock (this)
            {
                _snapshot = Array.FindAll(_snapshot, x => !ReferenceEquals(x, l));
                return _snapshot.Length == 0;
            }
        }
    }

    private sealed class Registration(InMemoryEventLog log, string taskId, ListenerSet set, IEventListener listener) : IAsyncDisposable
    {
        private int _disposed;

        public ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0 && set.Remove(listener))
            {
                log._listeners.TryRemove(new KeyValuePair<string, ListenerSet>(taskId, set));
            }
            return ValueTask.CompletedTask;
        }
    }
}
