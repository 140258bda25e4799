using System.Text.Json;
using System.Threading.Channels;
using StackExchange.Redis;

namespace RealtimeAgents.Core.Redis;

/// <summary>
/// Control messages on Redis: send_control.lua keeps each message in a short per-task list and
/// publishes it on the task's sharded control channel. A subscriber listens first, then reads the
/// list, and delivers the kept messages before anything that arrived live meanwhile; after a
/// subscriber connection drops or comes back it reads the list again. Duplicates are dropped by
/// message id.
/// </summary>
public sealed class RedisControlChannel(IConnectionMultiplexer redis, RedisKeys keys) : IControlChannel
{
    private const int MaxKept = 64;
    private static readonly long KeptTtlMs = (long)TimeSpan.FromHours(1).TotalMilliseconds;
    private readonly IDatabase _db = redis.GetDatabase();
    private IConnectionMultiplexer Redis => redis;
    private RedisChannel ChannelOf(string taskId) => RedisChannel.Sharded(keys.ControlChannel(taskId));

    /// <inheritdoc />
    public async ValueTask SendAsync(string taskId, ControlMessage message, CancellationToken cancellationToken = default)
    {
        string json = JsonSerializer.Serialize(message, CoreJsonContext.Default.ControlMessage);
        await RedisScripts.SendControl.EvaluateAsync(_db, [keys.Control(taskId)],
            [keys.ControlChannel(taskId), json, MaxKept, KeptTtlMs]).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async ValueTask<IControlSubscription> SubscribeAsync(string taskId, CancellationToken cancellationToken = default)
    {
        var sub = new Subscription(this, taskId);
        await sub.StartAsync().ConfigureAwait(false);
        return sub;
    }

    /// <inheritdoc />
    public async ValueTask ForgetAsync(string taskId, CancellationToken cancellationToken = default) =>
        await _db.KeyDeleteAsync(keys.Control(taskId)).ConfigureAwait(false);

    private async Task<List<ControlMessage>> ReadKeptAsync(string taskId)
    {
        var items = await _db.ListRangeAsync(keys.Control(taskId)).ConfigureAwait(false);
        var kept = new List<ControlMessage>(items.Length);
        foreach (var item in items)
        {
            if (Parse((byte[])item!) is { } m) kept.Add(m);
        }
        return kept;
    }

    private static ControlMessage? Parse(ReadOnlySpan<byte> json)
    {
        try { return JsonSerializer.Deserialize(json, CoreJsonContext.Default.ControlMessage); }
        catch (JsonException) { return null; }
    }

    private sealed class Subscription(RedisControlChannel owner, string taskId) : IControlSubscription
    {
        private readonly Channel<ControlMessage> _out = Channel.CreateUnbounded<ControlMessage>(new UnboundedChannelOptions { SingleReader = true });
        private readonly HashSet<string> _seen = new(StringComparer.Ordinal);
        private readonly List<ControlMessage> _early = [];
        private readonly Lock _gate = new();
        private bool _replaying = true;
        private ChannelMessageQueue? _live;

        public ChannelReader<ControlMessage> Messages => _out.Reader;

        public async Task StartAsync()
        {
            owner.Redis.ConnectionFailed += OnConnectionChanged;
            owner.Redis.ConnectionRestored += OnConnectionChanged;
            _live = await owner.Redis.GetSubscriber().SubscribeAsync(owner.ChannelOf(taskId)).ConfigureAwait(false);
            _live.OnMessage(message =>
            {
                if (Parse((byte[])message.Message!) is not { } m) return;
                lock (_gate)
                {
                    if (_replaying) _early.Add(m); else Deliver(m);
                }
            });
            var kept = await owner.ReadKeptAsync(taskId).ConfigureAwait(false);
            lock (_gate)
            {
                foreach (var m in kept) Deliver(m);
                foreach (var m in _early) Deliver(m);
                _early.Clear();
                _replaying = false;
            }
        }

        private void Deliver(ControlMessage m)
        {
            if (_seen.Add(m.Id)) _out.Writer.TryWrite(m);
        }

        private void OnConnectionChanged(object? sender, ConnectionFailedEventArgs e)
        {
            _ = Task.Run(async () =>
            {
                try
                {
                    var kept = await owner.ReadKeptAsync(taskId).ConfigureAwait(false);
                    lock (_gate) foreach (var m in kept) Deliver(m);
                }
                catch (Exception ex) when (RedisRetry.IsTransient(ex))
                {
                    // Still disconnected; the reconnect raises this again.
                }
            });
        }

        public async ValueTask DisposeAsync()
        {
            owner.Redis.ConnectionFailed -= OnConnectionChanged;
            owner.Redis.ConnectionRestored -= OnConnectionChanged;
            if (_live is not null)
            {
                try
                {
                    await _live.UnsubscribeAsync().ConfigureAwait(false);
                }
                catch (Exception ex) when (RedisRetry.IsTransient(ex))
                {
                }
            }
            _out.Writer.TryComplete();
        }
    }

}
