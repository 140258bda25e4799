using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.SignalR;
using RealtimeAgents.Agents;
using RealtimeAgents.Contracts;
using RealtimeAgents.Core;
using RealtimeAgents.Core.Relay;
using RealtimeAgents.Core.Runtime;
using RealtimeAgents.Server.Hubs;

namespace RealtimeAgents.Server;

/// <summary>
/// Builds the server. Program.cs runs it; tests build the same app on 127.0.0.1:0, so what is
/// tested is what ships.
/// </summary>
public static partial class RealtimeAgentsServer
{
    /// <summary>Where the server listens when no --urls / ASPNETCORE_URLS is given.</summary>
    public const string DefaultUrl = "http://localhost:5080";

    /// <summary>Configuration section of the product's options.</summary>
    public const string Section = "RealtimeAgents";

    /// <summary>Creates the builder with every service registered; <paramref name="configure"/> may override.</summary>
    public static WebApplicationBuilder CreateBuilder(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        // Serve wwwroot from the build output when started from elsewhere (dotnet path/to/dll).
        string contentRoot = Directory.Exists(Path.Combine(Directory.GetCurrentDirectory(), "wwwroot"))
            ? Directory.GetCurrentDirectory()
            : AppContext.BaseDirectory;
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = contentRoot });
        if (string.IsNullOrEmpty(builder.Configuration["urls"]) && string.IsNullOrEmpty(builder.Configuration["http_ports"]))
        {
            builder.WebHost.UseUrls(DefaultUrl);
        }
        var config = builder.Configuration.GetSection(Section);
        var services = builder.Services;
        services.AddRealtimeAgentsCore();
        services.Configure<TaskOptions>(config.GetSection("Tasks"));
        services.Configure<EventLogOptions>(config.GetSection("EventLog"));
        services.Configure<TaskQueueOptions>(config.GetSection("Queue"));
        services.Configure<RelayOptions>(config.GetSection("Relay"));
        services.Configure<WorkerOptions>(config.GetSection("Worker"));
        services.AddBuiltInAgents();

        // Embedded mode: no Redis configured, so stores live in memory and agents run in-process.
        services.AddInMemoryStores();
        services.AddAgentWorker();

        int maxInput = config.GetSection("Tasks").GetValue<int?>("MaxInputBytes") ?? new TaskOptions().MaxInputBytes;
        services.AddSignalR(o =>
        {
            o.AddFilter<ErrorFilter>();
            // Room for the largest valid input and its envelope, so an oversized input gets our
            // clear error rather than a closed connection.
            o.MaximumReceiveMessageSize = 2L * maxInput + 16 * 1024;
            o.EnableDetailedErrors = false;
        }).AddJsonProtocol(o =>
        {
            o.PayloadSerializerOptions.DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull;
            o.PayloadSerializerOptions.TypeInfoResolverChain.Insert(0, ContractsJsonContext.Default);
        });
        services.AddSingleton<ErrorFilter>();
        services.AddSingleton<SubscriptionRegistry>();
        services.AddSingleton<ITaskNotifier, HubTaskNotifier>();
        configure?.Invoke(builder);
        return builder;
    }

    /// <summary>Maps the endpoints.</summary>
    public static WebApplication Build(WebApplicationBuilder builder)
    {
        var app = builder.Build();
        app.UseDefaultFiles();
        app.UseStaticFiles();
        app.MapHub<AgentHub>(HubMethods.Path);
        app.MapGet("/healthz", () => Results.Ok(new { status = "ok" }));
        app.Lifetime.ApplicationStarted.Register(() =>
        {
            var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses;
            var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("RealtimeAgents");
            LogReady(logger, "embedded (in-memory stores, in-process worker)", string.Join(", ", addresses ?? []));
        });
        return app;
    }

    [LoggerMessage(EventId = 1, EventName = "ServerReady", Level = LogLevel.Information,
        Message = "RealtimeAgents is running in {Mode} mode. Open {Urls} — the hub is at /hubs/agents.")]
    private static partial void LogReady(ILogger logger, string mode, string urls);
}
