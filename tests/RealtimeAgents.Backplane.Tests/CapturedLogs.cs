using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace RealtimeAgents.Backplane.Tests;

/// <summary>Keeps the name of every log event written, so a test can check that something was logged.</summary>
public sealed class CapturedLogs : ILoggerProvider
{
    private readonly ConcurrentQueue<string> _events = new();

    public IReadOnlyCollection<string> EventNames => _events;

    public ILogger CreateLogger(string categoryName) => new Logger(this);

    public void Dispose()
    {
    }

    private sealed class Logger(CapturedLogs owner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (eventId.Name is { } name)
            {
                owner._events.Enqueue(name);
            }
        }
    }
}
