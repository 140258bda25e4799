using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using RealtimeAgents.Server;
using RealtimeAgents.Testing;
using Xunit;

namespace RealtimeAgents.Auth.Tests;

/// <summary>Development mode (no authentication) is for loopback; anywhere else the server refuses unless told otherwise.</summary>
public sealed class StartupTests
{
    [Theory]
    [InlineData("http://0.0.0.0:5080")]
    [InlineData("http://+:5080")]
    [InlineData("http://*:5080")]
    [InlineData("http://[::]:5080")]
    [InlineData("http://example.com:5080")]
    [InlineData("http://127.0.0.1:5080;http://10.1.2.3:5080")]
    public void WithoutAuthentication_OnANonLoopbackAddress_TheServerRefusesToStart(string urls)
    {
        var logs = new LogSink();
        var builder = RealtimeAgentsServer.CreateBuilder(["--urls", urls, "--environment", "Testing"], b => b.Logging.AddProvider(logs));
        var ex = Assert.Throws<InvalidOperationException>(() => RealtimeAgentsServer.Build(builder));
        Assert.Contains("Refusing to run without authentication", ex.Message, StringComparison.Ordinal);
        Assert.Contains("RealtimeAgents:Auth:AllowAnonymous", ex.Message, StringComparison.Ordinal);
        Assert.Contains(logs.Entries, e => e.Level == LogLevel.Critical && e.Message.Contains("Refusing", StringComparison.Ordinal));
    }

    [Fact]
    public void AHostPortsSetting_BindsEveryInterface_AndIsRefusedToo()
    {
        var builder = RealtimeAgentsServer.CreateBuilder(["--http_ports", "5080", "--environment", "Testing"]);
        Assert.Throws<InvalidOperationException>(() => RealtimeAgentsServer.Build(builder));
    }

    [Fact]
    public async Task LoopbackUrls_WinOverAHostPortsSetting_AsInKestrel()
    {
        var builder = RealtimeAgentsServer.CreateBuilder(["--urls", "http://127.0.0.1:5080", "--http_ports", "8080", "--environment", "Testing"]);
        await using var app = RealtimeAgentsServer.Build(builder);
    }

    [Theory]
    [InlineData("http://localhost:5080")]
    [InlineData("http://127.0.0.1:5080")]
    [InlineData("http://127.0.0.2:5080")]
    [InlineData("http://[::1]:5080")]
    public async Task WithoutAuthentication_OnLoopback_ItRuns_AndWarnsLoudly(string urls)
    {
        var logs = new LogSink();
        var builder = RealtimeAgentsServer.CreateBuilder(["--urls", urls, "--environment", "Testing"], b => b.Logging.AddProvider(logs));
        await using var app = RealtimeAgentsServer.Build(builder);
        Assert.Contains(logs.Entries, e => e.Level == LogLevel.Warning && e.Message.Contains("AUTHENTICATION IS OFF", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AllowAnonymous_LetsItRunOnAnyAddress_WithAWarning()
    {
        var logs = new LogSink();
        var builder = RealtimeAgentsServer.CreateBuilder(
            ["--urls", "http://0.0.0.0:5080", "--environment", "Testing", "--RealtimeAgents:Auth:AllowAnonymous=true"], b => b.Logging.AddProvider(logs));
        await using var app = RealtimeAgentsServer.Build(builder);
        Assert.Contains(logs.Entries, e => e.Level == LogLevel.Warning && e.Message.Contains("AllowAnonymous is true", StringComparison.Ordinal));
    }

    [Fact]
    public async Task WithAuthentication_AnyAddressIsFine_AndNoWarningIsLogged()
    {
        var logs = new LogSink();
        var builder = RealtimeAgentsServer.CreateBuilder(["--urls", "http://0.0.0.0:5080", "--environment", "Testing", .. AuthServer.AuthSettings],
            b => b.Logging.AddProvider(logs));
        await using var app = RealtimeAgentsServer.Build(builder);
        Assert.DoesNotContain(logs.Entries, e => e.Message.Contains("AUTHENTICATION IS OFF", StringComparison.Ordinal));
    }

    [Fact]
    public void AShortSigningKey_IsRefusedAtStartup()
    {
        var ex = Assert.Throws<InvalidOperationException>(() =>
            RealtimeAgentsServer.CreateBuilder(["--urls", "http://127.0.0.1:0", "--RealtimeAgents:Auth:SigningKey=short"]));
        Assert.Contains("at least 32 bytes", ex.Message, StringComparison.Ordinal);
    }

    private sealed class LogSink : ILoggerProvider
    {
        public ConcurrentQueue<(LogLevel Level, string Message)> Entries { get; } = new();
        public ILogger CreateLogger(string categoryName) => new Logger(this);
        public void Dispose() { }

        private sealed class Logger(LogSink sink) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
            public bool IsEnabled(LogLevel logLevel) => true;
            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                sink.Entries.Enqueue((logLevel, formatter(state, exception)));
        }
    }
}
