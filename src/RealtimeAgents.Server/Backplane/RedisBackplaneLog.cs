namespace RealtimeAgents.Server.Backplane;

/// <summary>The backplane's log events; ids are stable (see docs/backplane.md).</summary>
internal static partial class RedisBackplaneLog
{
    [LoggerMessage(EventId = 1, EventName = "Started", Level = LogLevel.Information,
        Message = "Redis backplane for hub {Hub} started on {Endpoint} as node {Node}.")]
    public static partial void Started(ILogger logger, string hub, string endpoint, string node);

    [LoggerMessage(EventId = 2, EventName = "StartFailed", Level = LogLevel.Error,
        Message = "Redis backplane could not start; the next call tries again.")]
    public static partial void StartFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 3, EventName = "Subscribing", Level = LogLevel.Debug, Message = "Subscribing to {Channel}.")]
    public static partial void Subscribing(ILogger logger, string channel);

    [LoggerMessage(EventId = 4, EventName = "Unsubscribing", Level = LogLevel.Debug, Message = "Unsubscribing from {Channel}.")]
    public static partial void Unsubscribing(ILogger logger, string channel);

    [LoggerMessage(EventId = 5, EventName = "Publishing", Level = LogLevel.Trace, Message = "Publishing to {Channel}.")]
    public static partial void Publishing(ILogger logger, string channel);

    [LoggerMessage(EventId = 6, EventName = "InvalidMessage", Level = LogLevel.Error,
        Message = "Dropped an unreadable backplane message on {Channel}.")]
    public static partial void InvalidMessage(ILogger logger, string channel, Exception exception);

    [LoggerMessage(EventId = 7, EventName = "WriteFailed", Level = LogLevel.Warning,
        Message = "Writing a backplane message from {Channel} to local connections failed.")]
    public static partial void WriteFailed(ILogger logger, string channel, Exception exception);

    [LoggerMessage(EventId = 8, EventName = "MessagesMayHaveBeenLost", Level = LogLevel.Warning,
        Message = "The Redis subscriber reconnected and resubscribed {Count} backplane channels; messages published while it was down were lost.")]
    public static partial void MessagesMayHaveBeenLost(ILogger logger, int count);

    [LoggerMessage(EventId = 9, EventName = "AckTimedOut", Level = LogLevel.Warning,
        Message = "No node acknowledged {Action} of connection {ConnectionId} in group {Group} within {TimeoutMs} ms.")]
    public static partial void AckTimedOut(ILogger logger, string action, string connectionId, string group, long timeoutMs);

    [LoggerMessage(EventId = 10, EventName = "GroupCommandFailed", Level = LogLevel.Error,
        Message = "Carrying out a backplane group command for connection {ConnectionId} failed.")]
    public static partial void GroupCommandFailed(ILogger logger, string connectionId, Exception exception);

    [LoggerMessage(EventId = 11, EventName = "UnsubscribeFailed", Level = LogLevel.Warning,
        Message = "Unsubscribing from {Channel} failed.")]
    public static partial void UnsubscribeFailed(ILogger logger, string channel, Exception exception);
}
