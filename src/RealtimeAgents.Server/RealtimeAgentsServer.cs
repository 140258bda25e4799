using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.DependencyInjection.Extensions;
using RealtimeAgents.Agents;
using RealtimeAgents.Contracts;
using RealtimeAgents.Core;
using RealtimeAgents.Core.Observability;
using RealtimeAgents.Core.Relay;
using RealtimeAgents.Core.Runtime;
using RealtimeAgents.Server.Auth;
using RealtimeAgents.Server.ScaleOut;
using Microsoft.AspNetCore.SignalR.StackExchangeRedis;
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
        // Embedded mode (no Redis configured): in-memory stores and an in-process worker. Redis
        // mode: shared stores; agents run in worker processes unless Worker:InProcess is true.
        bool redisMode = services.AddRealtimeAgents(config);
        if (!redisMode || config.GetSection("Worker").GetValue<bool>("InProcess")) services.AddAgentWorker();
        services.AddSingleton(new ServerMode(redisMode));
        services.AddBuiltInAgents();

        services.AddSignalR(o =>
        {
            o.AddFilter<ErrorFilter>();
            o.EnableDetailedErrors = false;
        }).AddJsonProtocol(o =>
        {
            o.PayloadSerializerOptions.DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull;
            o.PayloadSerializerOptions.TypeInfoResolverChain.Insert(0, ContractsJsonContext.Default);
        }).AddMessagePackProtocol(o => o.SerializerOptions = EventFrames.MessagePackOptions);
        // In Redis mode SignalR's group, user and all-connection sends reach connections on every hub node.
        services.AddSignalR().AddRealtimeAgentsLifetimeManager(redisMode, (config["RedisKeyPrefix"] ?? "ra:") + "signalr:");
        // The JSON protocol with the server's one depth limit, refused per invocation (not a closed connection);
        // after every AddSignalR() call, each of which registers the plain JSON protocol again.
        foreach (var json in services.Where(d => d.ImplementationType == typeof(Microsoft.AspNetCore.SignalR.Protocol.JsonHubProtocol)).ToList())
        {
            services.Remove(json);
        }
        services.TryAddEnumerable(ServiceDescriptor.Singleton<Microsoft.AspNetCore.SignalR.Protocol.IHubProtocol, DepthLimitedJsonHubProtocol>());
        // SignalR logs every failed invocation at Error with its stack trace, refusals included;
        // ErrorFilter logs them instead (refusals briefly, bugs in full).
        builder.Logging.AddFilter(ErrorFilter.DispatcherCategory, level => level != LogLevel.Error && level >= LogLevel.Warning);
        services.Configure<HubEndpointOptions>(config.GetSection("Hub"));
        // A client that stops reading usually stops sending too (its pings wait behind the stall),
        // and SignalR closes a connection it has heard nothing from for ClientTimeoutInterval (30 s
        // by default), silently and often before SlowClientTimeout: the cut-off the documentation
        // promises, and logs, would never happen. So SignalR waits SlowClientTimeout plus its own
        // default; a stalled client is cut off by HubEventSink, after SlowClientTimeout, logged.
        services.AddOptions<HubOptions>().Configure<Microsoft.Extensions.Options.IOptions<HubEndpointOptions>>((o, hub) =>
            o.ClientTimeoutInterval = hub.Value.SlowClientTimeout + TimeSpan.FromSeconds(30));
        // Room for the largest valid input and its envelope, so an oversized input gets our clear
        // error rather than a closed connection. MaxInputBytes is read from TaskOptions, once.
        services.AddOptions<HubOptions>().Configure<Microsoft.Extensions.Options.IOptions<TaskOptions>>((o, tasks) =>
            o.MaximumReceiveMessageSize = 2L * tasks.Value.MaxInputBytes + 16 * 1024);
        services.AddSingleton<ErrorFilter>();
        services.AddSingleton<SubscriptionRegistry>();
        services.AddSingleton<ThreadWatchers>();
        services.AddSingleton<ITaskNotifier, ThreadNotices>();
        services.AddHostedService<HubShutdown>();
        services.AddHttpSurface(config.GetSection("Http"));
        services.AddRealtimeAgentsAuth(config.GetSection("Auth"), config.GetSection("Limits"));
        services.AddRealtimeAgentsObservability(config.GetSection("Observability"), builder.Environment, "realtime-agents-hub");
        configure?.Invoke(builder);
        return builder;
    }

    /// <summary>Maps the endpoints.</summary>
    public static WebApplication Build(WebApplicationBuilder builder)
    {
        var app = builder.Build();
        // An error status nobody wrote a body for (an unknown path, a wrong method) still answers
        // in Problem Details, like every refusal of the endpoints themselves.
        app.UseStatusCodePages(Http.HttpProblems.WriteEmptyStatusAsync);
        app.UseDefaultFiles();
        app.UseStaticFiles();
        app.UseRealtimeAgentsMetrics();
        app.UseRealtimeAgentsRefusalCounters();
        app.UseRealtimeAgentsAuth();
        var hubLimits = app.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<HubEndpointOptions>>().Value;
        app.MapHub<AgentHub>(HubMethods.Path, o =>
        {
            // Outgoing: the per-client byte bound behind slow-client handling. Incoming: room for the
            // largest message SignalR accepts, or a large valid input would stall its connection.
            o.TransportMaxBufferSize = hubLimits.MaxBufferedBytes;
            o.ApplicationMaxBufferSize = Math.Max(64 * 1024,
                2L * app.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<TaskOptions>>().Value.MaxInputBytes + 32 * 1024);
        }).RequireAuthorization(AuthExtensions.Policy);
        app.MapHttpSurface();
        app.MapRealtimeAgentsHealth();
        app.Lifetime.ApplicationStarted.Register(() =>
        {
            var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses;
            var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("RealtimeAgents");
            string mode = app.Services.GetRequiredService<ServerMode>().Redis
                ? "distributed (Redis stores" + (app.Services.GetService<AgentWorker>() is null ? ", agents in worker processes)" : ", in-process worker too)")
                : "embedded (in-memory stores, in-process worker)";
            LogReady(logger, mode, string.Join(", ", addresses ?? []));
        });
        return app;
    }

    /// <summary>Which stores the server runs on.</summary>
    public sealed record ServerMode(bool Redis);

    [LoggerMessage(EventId = 1, EventName = "ServerReady", Level = LogLevel.Information,
        Message = "RealtimeAgents is running in {Mode} mode. Open {Urls} — the hub is at /hubs/agents.")]
    private static partial void LogReady(ILogger logger, string mode, string urls);
}
