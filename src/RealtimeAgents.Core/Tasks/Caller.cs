namespace RealtimeAgents.Core;

/// <summary>
/// Who is asking: the user id tasks are owned by (the token's <c>sub</c> / NameIdentifier claim,
/// or the user an API key acts as) and the groups tasks can be shared with. Every transport builds
/// one per request and hands it to <see cref="TaskService"/> or <see cref="ThreadService"/>, which check
/// access with <see cref="TaskAccessRules"/>.
/// </summary>
/// <param name="UserId">Owner of the tasks this caller submits.</param>
/// <param name="Groups">Groups the caller belongs to (the token's groups claim).</param>
/// <param name="Unmetered">True only for the local developer of development mode: the per-user
/// limits (active tasks, threads, submit rate, event streams) do not apply.</param>
public sealed record Caller(string UserId, IReadOnlyList<string> Groups, bool Unmetered = false)
{
    /// <summary>The user id of every caller when authentication is off.</summary>
    public const string AnonymousId = "anonymous";

    /// <summary>The one local developer of development mode (no authentication, loopback only).</summary>
    public static readonly Caller Developer = new(AnonymousId, [], Unmetered: true);

    /// <summary>An unauthenticated caller on a server that explicitly allows them: limits apply to all of them together.</summary>
    public static readonly Caller Anonymous = new(AnonymousId, []);

    /// <summary>A user with no groups.</summary>
    public static Caller User(string userId, params string[] groups) => new(userId, groups);

    /// <summary>Whether the caller is in <paramref name="group"/>.</summary>
    public bool IsIn(string group) => Groups.Contains(group, StringComparer.Ordinal);
}

/// <summary>What a caller may do with a task.</summary>
public enum TaskAccess
{
    /// <summary>Nothing; the task is reported as not found.</summary>
    None,
    /// <summary>Subscribe, GetTask, the event stream.</summary>
    Read,
    /// <summary>Read, plus Interrupt and SendMessage.</summary>
    Steer,
}
