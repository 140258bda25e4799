using Microsoft.Extensions.Logging;

namespace RealtimeAgents.Redis.Internal;

/// <summary>Every log line of the Redis client. Event ids are stable: dashboards and tests may rely on them.</summary>
internal static partial class RedisLog
{
    [LoggerMessage(EventId = 1, EventName = "Connected", Level = LogLevel.Information,
        Message = "Redis {Role} connection to {Endpoint} established (RESP{Protocol}).")]
    public static partial void Connected(ILogger logger, string role, string endpoint, int protocol);

    [LoggerMessage(EventId = 2, EventName = "ConnectionFailed", Level = LogLevel.Warning,
        Message = "Redis {Role} connection to {Endpoint} failed; {Pending} command(s) in flight were failed.")]
    public static partial void ConnectionFailed(ILogger logger, string role, string endpoint, int pending, Exception exception);

    [LoggerMessage(EventId = 3, EventName = "ReconnectAttemptFailed", Level = LogLevel.Warning,
        Message = "Redis {Role} reconnect attempt {Attempt} to {Endpoint} failed; next attempt in {DelayMs} ms.")]
    public static partial void ReconnectAttemptFailed(ILogger logger, string role, int attempt, string endpoint, long delayMs, Exception exception);

    [LoggerMessage(EventId = 4, EventName = "Reconnected", Level = LogLevel.Information,
        Message = "Redis {Role} connection to {Endpoint} restored after {Attempts} attempt(s).")]
    public static partial void Reconnected(ILogger logger, string role, string endpoint, int attempts);

    [LoggerMessage(EventId = 5, EventName = "CommandTimedOut", Level = LogLevel.Warning,
        Message = "Redis command {Command} got no reply within {TimeoutMs} ms; its reply will be discarded when it arrives.")]
    public static partial void CommandTimedOut(ILogger logger, string command, long timeoutMs);

    [LoggerMessage(EventId = 6, EventName = "Resp3Refused", Level = LogLevel.Information,
        Message = "Redis server refused HELLO 3 ({Error}); using RESP2.")]
    public static partial void Resp3Refused(ILogger logger, string error);

    [LoggerMessage(EventId = 7, EventName = "UnexpectedPush", Level = LogLevel.Debug,
        Message = "Redis sent an out-of-band push on the interactive connection: {Push}")]
    public static partial void UnexpectedPush(ILogger logger, string push);

    [LoggerMessage(EventId = 8, EventName = "SubscriberHandlerFailed", Level = LogLevel.Error,
        Message = "A handler for Redis channel {Channel} threw; the next message will still be delivered.")]
    public static partial void SubscriberHandlerFailed(ILogger logger, string channel, Exception exception);

    [LoggerMessage(EventId = 9, EventName = "Resubscribed", Level = LogLevel.Information,
        Message = "Redis subscriber reconnected and resubscribed {Count} channel(s); messages published meanwhile may be lost.")]
    public static partial void Resubscribed(ILogger logger, int count);

    [LoggerMessage(EventId = 10, EventName = "ReconnectedHandlerFailed", Level = LogLevel.Error,
        Message = "A Redis subscriber MessagesMayHaveBeenLost handler threw.")]
    public static partial void ReconnectedHandlerFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 11, EventName = "ScriptReloaded", Level = LogLevel.Debug,
        Message = "Redis script {Sha1} was not cached on the server (NOSCRIPT); sent it with EVAL.")]
    public static partial void ScriptReloaded(ILogger logger, string sha1);

    [LoggerMessage(EventId = 12, EventName = "BlockingCallCancelled", Level = LogLevel.Debug,
        Message = "Blocking Redis {Command} was cancelled or timed out; its dedicated connection was closed to unblock the server.")]
    public static partial void BlockingCallCancelled(ILogger logger, string command);

    [LoggerMessage(EventId = 13, EventName = "SubscriberFrameIgnored", Level = LogLevel.Debug,
        Message = "Redis subscriber got a {Kind} frame it does not use: {Frame}")]
    public static partial void SubscriberFrameIgnored(ILogger logger, string kind, string frame);

    [LoggerMessage(EventId = 14, EventName = "ResubscribeFailed", Level = LogLevel.Warning,
        Message = "Redis subscriber could not resubscribe after reconnecting; it will reconnect again.")]
    public static partial void ResubscribeFailed(ILogger logger, Exception exception);
}
