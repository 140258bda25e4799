using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using RealtimeAgents.Agents;
using RealtimeAgents.Core;
using RealtimeAgents.Server;
using RealtimeAgents.Testing;

namespace RealtimeAgents.Observability.Tests;

/// <summary>Every log line a host wrote, with its structured values and exception, for grepping.</summary>
public sealed class CapturedLog : ILoggerProvider
{
    private readonly ConcurrentQueue<string> _lines = new();

    public string Text => string.Join('\n', _lines);

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
    }

    private sealed class Logger(CapturedLog owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull
        {
            owner._lines.Enqueue("scope " + category + ": " + state);
            return null;
        }

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var line = $"{logLevel} {category}[{eventId.Name}] {formatter(state, exception)}";
            if (state is IEnumerable<KeyValuePair<string, object?>> values) line += " | " + string.Join(", ", values.Select(v => $"{v.Key}={v.Value}"));
            if (exception is not null) line += " | " + exception;
            owner._lines.Enqueue(line);
        }
    }
}

/// <summary>A hub on 127.0.0.1:0 in this process (what ships: RealtimeAgentsServer), logging everything to a capture.</summary>
public sealed class InProcessHub : IAsyncDisposable
{
    private InProcessHub(WebApplication app, CapturedLog log)
    {
        App = app;
        Log = log;
        BaseUrl = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
    }

    public WebApplication App { get; }
    public CapturedLog Log { get; }
    public Uri BaseUrl { get; }
    public Uri HubUrl => new(BaseUrl, Contracts.HubMethods.Path);

    public static async Task<InProcessHub> StartAsync(params string[] settings)
    {
        var log = new CapturedLog();
        var builder = RealtimeAgentsServer.CreateBuilder(["--urls", "http://127.0.0.1:0", "--environment", "Testing", .. settings], b =>
        {
            b.Logging.ClearProviders();
            b.Logging.SetMinimumLevel(LogLevel.Debug);
            b.Logging.AddProvider(log);
        });
        var app = RealtimeAgentsServer.Build(builder);
        await app.StartAsync().DefaultTimeout(30_000);
        return new InProcessHub(app, log);
    }

    public async ValueTask DisposeAsync()
    {
        await App.StopAsync().DefaultTimeout(20_000);
        await App.DisposeAsync().AsTask().DefaultTimeout();
    }
}

/// <summary>A worker host in this process, built like RealtimeAgents.Worker's Program (without its HTTP).</summary>
public static class InProcessWorker
{
    public static async Task<IHost> StartAsync(params string[] settings)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = settings, EnvironmentName = "Testing" });
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        var section = builder.Configuration.GetSection("RealtimeAgents");
        builder.Services.AddRealtimeAgents(section);
        builder.Services.AddBuiltInAgents();
        builder.Services.AddAgentWorker();
        var host = builder.Build();
        await host.StartAsync().DefaultTimeout(30_000);
        return host;
    }
}
