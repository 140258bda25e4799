namespace RealtimeAgents.Core;

/// <summary>
/// A request the product refuses, with a message meant for the caller. Each transport maps the
/// code to its own form (HubException text, Problem Details status). Nothing was changed.
/// </summary>
public sealed class RealtimeAgentsException(string code, string message) : Exception(message)
{
    /// <summary>One of <see cref="ErrorCodes"/>.</summary>
    public string Code { get; } = code;

    /// <summary>
    /// For <see cref="ErrorCodes.LimitExceeded"/>: true when the limit is a count or a rate that
    /// frees up with time (HTTP 429), false when the request itself is too large (HTTP 413).
    /// </summary>
    public bool RetryLater { get; init; }

    /// <summary>
    /// For a refusal that frees up with time (<see cref="RetryLater"/>, or <see cref="ErrorCodes.Unavailable"/>):
    /// when trying again makes sense, if known. HTTP sends it as Retry-After.
    /// </summary>
    public TimeSpan? RetryAfter { get; init; }

    // One message shape for "missing" and "not yours": only the id the caller sent appears in it.
    internal static RealtimeAgentsException TaskNotFound(string taskId) =>
        new(ErrorCodes.NotFound, $"Task '{taskId}' was not found.");

    internal static RealtimeAgentsException ThreadNotFound(string threadId) =>
        new(ErrorCodes.NotFound, $"Thread '{threadId}' was not found.");

    internal static RealtimeAgentsException ReadOnly(string what, string id) =>
        new(ErrorCodes.PermissionDenied, $"The {what} '{id}' is shared with you read-only; you cannot steer it.");

    /// <summary>An invalid_argument error.</summary>
    public static RealtimeAgentsException Invalid(string message) => new(ErrorCodes.InvalidArgument, message);

    /// <summary>A limit_exceeded error for a count or rate limit (try again later).</summary>
    public static RealtimeAgentsException Quota(string message, TimeSpan? retryAfter = null) =>
        new(ErrorCodes.LimitExceeded, message) { RetryLater = true, RetryAfter = retryAfter };
}

/// <summary>Machine-readable error codes.</summary>
public static class ErrorCodes
{
    /// <summary>The task or thread does not exist, or is not the caller's.</summary>
    public const string NotFound = "not_found";
    /// <summary>Malformed or out-of-range input.</summary>
    public const string InvalidArgument = "invalid_argument";
    /// <summary>The request conflicts with the current state (reject policy while a task runs).</summary>
    public const string Conflict = "conflict";
    /// <summary>A configured limit was reached.</summary>
    public const string LimitExceeded = "limit_exceeded";
    /// <summary>The caller may read the task or thread but not steer it.</summary>
    public const string PermissionDenied = "permission_denied";
    /// <summary>The caller's credentials are missing, invalid or expired.</summary>
    public const string Unauthenticated = "unauthenticated";
    /// <summary>
    /// A store the product depends on cannot be reached right now (Redis down, say): nothing was
    /// changed, and the same call may succeed later. Clients retry it with backoff.
    /// </summary>
    public const string Unavailable = "unavailable";
}
