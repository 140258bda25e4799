using System.Collections.Concurrent;
using System.Text;
using Microsoft.Extensions.Logging;

namespace RealtimeAgents.Auth.Tests;

/// <summary>
/// Keeps every log entry written to it as the console would print it (level, category, event,
/// message, exception with stack trace), so a test can measure and search the log.
/// </summary>
public class LogCapture : ILoggerProvider
{
    private readonly ConcurrentQueue<(LogLevel Level, string Category, string Text)> _entries = new();

    public IReadOnlyCollection<(LogLevel Level, string Category, string Text)> Entries => _entries;

    /// <summary>UTF-8 bytes of every entry whose category starts with one of <paramref name="categories"/>.</summary>
    public long Bytes(params string[] categories) =>
        _entries.Where(e => categories.Length == 0 || categories.Any(c => e.Category.StartsWith(c, StringComparison.Ordinal)))
            .Sum(e => (long)Encoding.UTF8.GetByteCount(e.Text));

    public string Text => string.Concat(_entries.Select(e => e.Text));

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose() => GC.SuppressFinalize(this);

    private sealed class Logger(LogCapture owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            string text = $"{logLevel}: {category}[{eventId.Id}]\n      {formatter(state, exception)}\n" + (exception is null ? "" : exception + "\n");
            owner._entries.Enqueue((logLevel, category, text));
        }
    }
}

/// <summary>A second capture that logging rules can address apart from <see cref="LogCapture"/>.</summary>
public sealed class RawLogCapture : LogCapture;
