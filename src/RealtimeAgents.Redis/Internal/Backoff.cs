namespace RealtimeAgents.Redis.Internal;

/// <summary>Exponential reconnect delay with "equal jitter": half fixed, half random, so a fleet of
/// clients that lost the same server do not all come back in the same millisecond.</summary>
internal static class Backoff
{
    public static TimeSpan Delay(RedisOptions options, int attempt)
    {
        double min = Math.Max(1, options.ReconnectMinDelay.TotalMilliseconds);
        double max = Math.Max(min, options.ReconnectMaxDelay.TotalMilliseconds);
        double exp = Math.Min(max, min * Math.Pow(2, Math.Min(attempt, 30)));
        double jittered = (exp / 2) + (Random.Shared.NextDouble() * exp / 2);
        return TimeSpan.FromMilliseconds(jittered);
    }
}
