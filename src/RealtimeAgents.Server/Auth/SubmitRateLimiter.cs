using System.Globalization;
using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;
using RealtimeAgents.Core;

namespace RealtimeAgents.Server.Auth;

/// <summary>
/// Submits per user per minute (<see cref="LimitOptions.SubmitsPerMinute"/>), one sliding window per
/// user on this hub node, shared by the hub (through <see cref="AuthHubFilter"/>, since ASP.NET's
/// rate-limiting middleware sees a WebSocket once, not each hub invocation), REST and AG-UI.
/// </summary>
public sealed class SubmitRateLimiter : IDisposable
{
    private readonly PartitionedRateLimiter<string>? _limiter;
    private readonly int _perMinute;

    /// <summary>Creates the limiter.</summary>
    public SubmitRateLimiter(IOptions<LimitOptions> options)
    {
        _perMinute = options.Value.SubmitsPerMinute;
        if (_perMinute <= 0) return;
        _limiter = PartitionedRateLimiter.Create<string, string>(user => RateLimitPartition.GetSlidingWindowLimiter(user,
            _ => new SlidingWindowRateLimiterOptions
            {
                PermitLimit = _perMinute,
                Window = TimeSpan.FromMinutes(1),
                SegmentsPerWindow = 6,
                QueueLimit = 0,
                AutoReplenishment = true,
            }), StringComparer.Ordinal);
    }

    /// <summary>Takes one submit of <paramref name="caller"/>, or throws limit_exceeded.</summary>
    public void Acquire(Caller caller)
    {
        ArgumentNullException.ThrowIfNull(caller);
        if (_limiter is null || caller.Unmetered) return;
        using var lease = _limiter.AttemptAcquire(caller.UserId);
        if (lease.IsAcquired) return;
        TimeSpan? after = lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter) ? retryAfter : null;
        string when = after is { } a
            ? $" Try again in {Math.Ceiling(a.TotalSeconds).ToString(CultureInfo.InvariantCulture)} s."
            : " Try again later.";
        throw RealtimeAgentsException.Quota($"This user submitted {_perMinute} tasks in the last minute; that is the limit.{when}", after);
    }

    /// <inheritdoc />
    public void Dispose() => _limiter?.Dispose();
}

/// <summary>Open event streams (SSE, AG-UI) per user on this hub node (<see cref="LimitOptions.MaxEventStreamsPerUser"/>).</summary>
public sealed class EventStreamLimiter(IOptions<LimitOptions> options)
{
    private readonly Dictionary<string, int> _open = new(StringComparer.Ordinal);

    /// <summary>Takes a slot for one more stream of the caller (dispose to give it back), or throws limit_exceeded.</summary>
    public IDisposable Acquire(Caller caller)
    {
        ArgumentNullException.ThrowIfNull(caller);
        int max = options.Value.MaxEventStreamsPerUser;
        if (max <= 0 || caller.Unmetered) return NoSlot.Instance;
        lock (_open)
        {
            int open = _open.GetValueOrDefault(caller.UserId);
            if (open >= max)
            {
                throw RealtimeAgentsException.Quota($"This user has {max} event streams open; that is the limit. Close one first.");
            }
            _open[caller.UserId] = open + 1;
        }
        return new Slot(this, caller.UserId);
    }

    private void Release(string user)
    {
        lock (_open)
        {
            if ((_open[user] -= 1) == 0) _open.Remove(user);
        }
    }

    private sealed class Slot(EventStreamLimiter owner, string user) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0) owner.Release(user);
        }
    }

    private sealed class NoSlot : IDisposable
    {
        public static readonly NoSlot Instance = new();
        public void Dispose() { }
    }
}
