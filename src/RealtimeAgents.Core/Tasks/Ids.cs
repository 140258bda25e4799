using System.Buffers;

namespace RealtimeAgents.Core;

/// <summary>
/// Task and thread ids: generated as time-ordered hex, accepted from callers only in a narrow
/// alphabet so an id can never smuggle a Redis key separator, a hash-tag brace or a glob.
/// </summary>
public static class Ids
{
    /// <summary>Longest accepted id.</summary>
    public const int MaxLength = 64;

    private static readonly SearchValues<char> Allowed =
        SearchValues.Create("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-");

    /// <summary>A new task id.</summary>
    public static string NewTaskId() => "t" + Guid.CreateVersion7().ToString("N");

    /// <summary>A new thread id.</summary>
    public static string NewThreadId() => "th" + Guid.CreateVersion7().ToString("N");

    /// <summary>A new message id.</summary>
    public static string NewMessageId() => "m" + Guid.CreateVersion7().ToString("N");

    /// <summary>1–64 characters of [A-Za-z0-9_-].</summary>
    public static bool IsValid(string? id) =>
        !string.IsNullOrEmpty(id) && id.Length <= MaxLength && !id.AsSpan().ContainsAnyExcept(Allowed);
}
