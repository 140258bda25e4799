using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace RealtimeAgents.Testing;

/// <summary>
/// <c>await something.DefaultTimeout();</c>: every await in a test gets a deadline, so a hang fails in
/// seconds with the file and line of the await instead of stalling the whole run.
/// </summary>
public static class TaskTimeoutExtensions
{
    public const int DefaultTimeoutMilliseconds = 10_000;

    public static async Task DefaultTimeout(this Task task, int milliseconds = DefaultTimeoutMilliseconds,
        [CallerFilePath] string? file = null, [CallerLineNumber] int line = 0)
    {
        ArgumentNullException.ThrowIfNull(task);
        try
        {
            await task.WaitAsync(Limit(milliseconds)).ConfigureAwait(false);
        }
        catch (TimeoutException ex) when (!task.IsCompleted)
        {
            throw new TimeoutException(Message(milliseconds, file, line), ex);
        }
    }

    public static async Task<T> DefaultTimeout<T>(this Task<T> task, int milliseconds = DefaultTimeoutMilliseconds,
        [CallerFilePath] string? file = null, [CallerLineNumber] int line = 0)
    {
        ArgumentNullException.ThrowIfNull(task);
        try
        {
            return await task.WaitAsync(Limit(milliseconds)).ConfigureAwait(false);
        }
        catch (TimeoutException ex) when (!task.IsCompleted)
        {
            throw new TimeoutException(Message(milliseconds, file, line), ex);
        }
    }

    public static Task DefaultTimeout(this ValueTask task, int milliseconds = DefaultTimeoutMilliseconds,
        [CallerFilePath] string? file = null, [CallerLineNumber] int line = 0) =>
        task.AsTask().DefaultTimeout(milliseconds, file, line);

    public static Task<T> DefaultTimeout<T>(this ValueTask<T> task, int milliseconds = DefaultTimeoutMilliseconds,
        [CallerFilePath] string? file = null, [CallerLineNumber] int line = 0) =>
        task.AsTask().DefaultTimeout(milliseconds, file, line);

    private static TimeSpan Limit(int milliseconds) =>
        Debugger.IsAttached ? Timeout.InfiniteTimeSpan : TimeSpan.FromMilliseconds(milliseconds);

    private static string Message(int milliseconds, string? file, int line) =>
        $"Operation at {Path.GetFileName(file)}:{line} did not complete within {milliseconds} ms.";
}
