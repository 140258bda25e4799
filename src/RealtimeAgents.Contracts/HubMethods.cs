namespace RealtimeAgents.Contracts;

/// <summary>The hub's path and method names: one place for server, SDKs and tests.</summary>
public static class HubMethods
{
    /// <summary>Path of the SignalR hub.</summary>
    public const string Path = "/hubs/agents";

    /// <summary>(SubmitTaskRequest) → SubmitTaskResult.</summary>
    public const string SubmitTask = "SubmitTask";
    /// <summary>(taskId, cursor?) → SubscribeResult; events follow on <see cref="Event"/>.</summary>
    public const string Subscribe = "Subscribe";
    /// <summary>(taskId) → void.</summary>
    public const string Unsubscribe = "Unsubscribe";
    /// <summary>(taskId, reason?) → void.</summary>
    public const string Interrupt = "Interrupt";
    /// <summary>(threadId, text, policy?) → SendMessageResult.</summary>
    public const string SendMessage = "SendMessage";
    /// <summary>(taskId) → TaskInfo.</summary>
    public const string GetTask = "GetTask";
    /// <summary>(threadId) → ThreadInfo; new tasks follow on <see cref="ThreadTask"/>.</summary>
    public const string SubscribeThread = "SubscribeThread";
    /// <summary>(threadId) → void: stops the connection's watch of the thread (nothing happens if there is none).</summary>
    public const string UnsubscribeThread = "UnsubscribeThread";

    /// <summary>() → HubLimits: what the server accepts, so an SDK refuses an oversized call before sending it.</summary>
    public const string GetLimits = "GetLimits";

    /// <summary>(taskId, toolCallId, approved, reason?) → ApprovalAnswerResult.</summary>
    public const string RespondToApproval = "RespondToApproval";

    /// <summary>Server → client: one AgentEvent.</summary>
    public const string Event = "event";
    /// <summary>Server → client: a ThreadTaskNotice.</summary>
    public const string ThreadTask = "threadTask";
    /// <summary>Server → client: a subscription ended without its terminal event (SubscriptionEnded).</summary>
    public const string SubscriptionEnded = "subscriptionEnded";
    /// <summary>Server → client: the server stopped a thread watch (ThreadWatchEnded); no more threadTask for it follows.</summary>
    public const string ThreadEnded = "threadEnded";
}

/// <summary>
/// Sent when the server stops a thread watch: <paramref name="Reason"/> is "access_lost" (the
/// thread is no longer shared with the caller) or "token_expired" (the caller's token expired;
/// reconnect with a new token and watch again).
/// </summary>
public sealed record ThreadWatchEnded(string ThreadId, string Reason)
{
    /// <summary>The thread is no longer shared with the caller.</summary>
    public const string AccessLost = "access_lost";
    /// <summary>The caller's access token expired while watching.</summary>
    public const string TokenExpired = "token_expired";
}

/// <summary>
/// What the hub accepts. <paramref name="MaxInputBytes"/>: a task input or message text, in UTF-8
/// bytes; <paramref name="MaxOptionsBytes"/>: an agent options object, in UTF-8 bytes of its JSON;
/// <paramref name="MaxMessageBytes"/>: one incoming hub message. A message over the last closes
/// the connection (SignalR cannot read past it), so the SDKs check before they send.
/// </summary>
public sealed record HubLimits(int MaxInputBytes, int MaxOptionsBytes, long MaxMessageBytes);

/// <summary>
/// Sent when the server stops a subscription early (the client fell too far behind, or events
/// it needed were trimmed); the client resubscribes from <paramref name="Cursor"/>.
/// </summary>
public sealed record SubscriptionEnded(string TaskId, string Reason, string Cursor);

/// <summary>Cursor spellings accepted by Subscribe.</summary>
public static class Cursors
{
    /// <summary>From the first event (null and "" mean the same).</summary>
    public const string Start = "0-0";
    /// <summary>Only events appended after the subscription starts.</summary>
    public const string Live = "$";
}
