namespace RealtimeAgents.Core;

/// <summary>
/// A request the product refuses, with a message meant for the caller. Each transport maps the
/// code to its own form (HubException text, Problem Details status). Nothing was changed.
/// </summary>
public sealed class RealtimeAgentsException(string code, string message) : Exception(message)
{
    /// <summary>One of <see cref="ErrorCodes"/>.</summary>
    public string Code { get; } = code;

    internal static RealtimeAgentsException TaskNotFound(string taskId) =>
        new(ErrorCodes.NotFound, $"Task '{taskId}' was not found.");

    internal static RealtimeAgentsException ThreadNotFound(string threadId) =>
        new(ErrorCodes.NotFound, $"Thread '{threadId}' was not found.");

    /// <summary>An invalid_argument error.</summary>
    public static RealtimeAgentsException Invalid(string message) => new(ErrorCodes.InvalidArgument, message);
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
}
