namespace RealtimeAgents.Core;

/// <summary>
/// A store the product depends on (Redis) cannot be reached right now. Not a bug and not the
/// caller's fault: each transport answers it as <see cref="ErrorCodes.Unavailable"/> (hub code
/// "unavailable", HTTP 503 with Retry-After), and the SDKs try again with backoff.
/// </summary>
public sealed class StoreUnavailableException(string message, Exception? innerException = null) : Exception(message, innerException)
{
    /// <summary>What callers are told.</summary>
    public const string CallerMessage = "The task store cannot be reached right now; try again shortly.";

    /// <summary>When trying again makes sense (2 s).</summary>
    public static readonly TimeSpan RetryAfter = TimeSpan.FromSeconds(2);

    /// <summary>
    /// The store client's "cannot reach the server" failures, as this exception; null for anything
    /// else. The one place that knows the store client's exception types.
    /// </summary>
    public static StoreUnavailableException? From(Exception? exception)
    {
        for (var ex = exception; ex is not null; ex = ex!.InnerException)
        {
            switch (ex)
            {
                case StoreUnavailableException unavailable:
                    return unavailable;
                case not null when Redis.RedisRetry.IsTransient(ex):
                    // StackExchange.Redis: no connection, a timeout, or a server that is loading,
                    // promoting a replica or read-only for now.
                    return new StoreUnavailableException(CallerMessage, ex);
            }
        }
        return null;
    }
}
