using System.Globalization;
using System.Text.Json;
using System.Threading.Channels;
using RealtimeAgents.Redis;

namespace RealtimeAgents.Core.Redis;

/// <summary>
/// Control messages on Redis: send_control.lua keeps each message in a short per-task list and
/// publishes it. A subscriber listens first, then reads the list, and delivers the kept messages
/// before anything that arrived live meanwhile; after a lost subscriber connection it reads the
/// list again. Duplicates are dropped by message id.
/// </summary>
public sealed class RedisControlChannel(RedisClient redis, RedisKeys keys) : IControlChannel
{
    private const int MaxKept = 64;

    private RedisClient Redis => redis;
    private RedisKeys Keys => keys;
    private static readonly string KeptTtlMs = ((long)TimeSpan.FromHours(1).TotalMilliseconds).ToString(CultureInfo.InvariantCulture);

    /// <inheritdoc />
    public async ValueTask SendAsync(string taskId, ControlMessage message, CancellationToken cancellationToken = default)
    {
        string json = JsonSerializer.Serialize(message, CoreJsonContext.Default.ControlMessage);
        await redis.EvaluateAsync(RedisScripts.SendControl, [keys.Control(taskId)],
            [keys.ControlChannel(taskId), json, MaxKept, KeptTtlMs], cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async ValueTask<IControlSubscription> SubscribeAsync(string taskId, CancellationToken cancellationToken = default)
    {
        var sub = new Subscription(this, taskId);
        await sub.StartAsync(cancellationToken).ConfigureAwait(false);
        return sub;
    }

    /// <inheritdoc />
    public async ValueTask ForgetAsync(string taskId, CancellationToken cancellationToken = default) =>
        await redis.DelAsync(keys.Control(taskId), cancellationToken).ConfigureAwait(false);

    private async ValueTask<List<ControlMessage>> ReadKeptAsync(string taskId, CancellationToken ct)
    {
        var reply = await redis.ExecuteAsync("LRANGE", [keys.Control(taskId), 0, -1], ct).ConfigureAwait(false);
        var kept = new List<ControlMessage>(reply.Count);
        foreach (var item in reply.Elements)
        {
            if (Parse(item.Memory) is { } m) kept.Add(m);
        }
        return kept;
    }

    private static ControlMessage? Parse(ReadOnlyMemory<byte> json)
    {
        try { return JsonSerializer.Deserialize(json.Span, CoreJsonContext.Default.ControlMessage); }
        catch (JsonException) { return null; }
    }

    private sealed class Subscription(RedisControlChannel owner, string taskId) : IControlSubscription
    {
        private readonly Channel<ControlMessage> _out = Channel.CreateUnbounded<ControlMessage>(new UnboundedChannelOptions { SingleReader = true });
        private readonly HashSet<string> _seen = new(StringComparer.Ordinal);
        private readonly List<ControlMessage> _early = [];
        private readonly object _gate = new();
        private readonly string _channel = owner.Keys.ControlChannel(taskId);
        private bool _replaying = true;
        private IAsyncDisposable? _live;

        public ChannelReader<ControlMessage> Messages => _out.Reader;

        public async Task StartAsync(CancellationToken ct)
        {
            owner.Redis.Subscriber.MessagesMayHaveBeenLost += OnLost;
            _live = await owner.Redis.Subscriber.SubscribeAsync(_channel, (_, payload) =>
            {
                if (Parse(payload) is { } m)
                {
                    lock (_gate)
                    {
                        if (_replaying) _early.Add(m); else Deliver(m);
                    }
                }
                return ValueTask.CompletedTask;
            }, ct).ConfigureAwait(false);
            var kept = await owner.ReadKeptAsync(taskId, ct).ConfigureAwait(false);
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

        private void OnLost(IReadOnlyList<string> channels)
        {
            if (channels.Count > 0 && !channels.Contains(_channel)) return;
            _ = Task.Run(async () =>
            {
                try
                {
                    var kept = await owner.ReadKeptAsync(taskId, CancellationToken.None).ConfigureAwait(false);
                    lock (_gate) foreach (var m in kept) Deliver(m);
                }
                catch (RedisException)
                {
                    // Still disconnected; the next reconnect raises this again.
                }
            });
        }

        public async ValueTask DisposeAsync()
        {
            owner.Redis.Subscriber.MessagesMayHaveBeenLost -= OnLost;
            if (_live is not null) await _live.DisposeAsync().ConfigureAwait(false);
            _out.Writer.TryComplete();
        }
    }
}
