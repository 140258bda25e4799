using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using RealtimeAgents.Core.Redis;

namespace RealtimeAgents.Core.Observability;

/// <summary>Wires OpenTelemetry (OTLP, Prometheus), /healthz, /readyz and /metrics into a host.</summary>
public static class ObservabilityExtensions
{
    /// <summary>Path of the Prometheus scrape endpoint.</summary>
    public const string MetricsPath = "/metrics";

    /// <summary>
    /// Registers the store health monitor, the health checks and, unless disabled, OpenTelemetry
    /// with the product's meters and sources: exported by OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is
    /// set (the standard OTEL_* variables configure it) and by the Prometheus scrape endpoint
    /// when that is on.
    /// </summary>
    public static IServiceCollection AddRealtimeAgentsObservability(this IServiceCollection services, IConfiguration section,
        IHostEnvironment environment, string serviceName)
    {
        ArgumentNullException.ThrowIfNull(section);
        ArgumentNullException.ThrowIfNull(environment);
        services.Configure<ObservabilityOptions>(section);
        var options = new ObservabilityOptions();
        section.Bind(options);
        services.TryAddSingleton<IStoreHealth>(sp => sp.GetService<StackExchange.Redis.IConnectionMultiplexer>() is { } redis
            ? new RedisStoreHealth(redis) : new InProcessStoreHealth());
        services.TryAddSingleton<ITaskQueueStats>(sp => sp.GetService<StackExchange.Redis.IConnectionMultiplexer>() is { } redis
            ? new RedisTaskQueueStats(redis, sp.GetRequiredService<RedisKeys>())
            : sp.GetService<ITaskQueue>() as ITaskQueueStats ?? new NoQueueStats());
        services.TryAddSingleton<StoreHealthMonitor>();
        services.AddHostedService(sp => sp.GetRequiredService<StoreHealthMonitor>());
        services.AddHealthChecks()
            .AddCheck<StoreHealthCheck>("store", tags: ["ready"])
            .AddCheck<WorkerPoolHealthCheck>("workers", tags: ["ready"]);
        if (!options.Enabled) return services;

        bool prometheus = options.PrometheusEndpoint ?? environment.IsDevelopment();
        bool otlp = !string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable("OTEL_EXPORTER_OTLP_ENDPOINT"));
        services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService(serviceName))
            .WithTracing(t =>
            {
                t.AddSource(RealtimeAgentsTelemetry.HubName, RealtimeAgentsTelemetry.WorkerName)
                    .AddAspNetCoreInstrumentation(o => o.Filter = http => !IsOperational(http.Request.Path));
                if (otlp) t.AddOtlpExporter();
            })
            .WithMetrics(m =>
            {
                m.AddMeter(RealtimeAgentsTelemetry.HubName, RealtimeAgentsTelemetry.WorkerName);
                if (prometheus) m.AddPrometheusExporter();
                if (otlp) m.AddOtlpExporter();
            });
        // After OpenTelemetry's own hosted service, so its meter provider listens already.
        services.AddHostedService(sp => new ZeroPublisher(sp));
        return services;
    }

    /// <summary>
    /// Serves /metrics (when on) ahead of the product's own authentication: the scrape endpoint
    /// has its own rule, <see cref="ObservabilityOptions.MetricsApiKey"/>.
    /// </summary>
    public static IApplicationBuilder UseRealtimeAgentsMetrics(this IApplicationBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var options = app.ApplicationServices.GetRequiredService<IOptions<ObservabilityOptions>>().Value;
        var environment = app.ApplicationServices.GetRequiredService<IHostEnvironment>();
        if (!options.Enabled || !(options.PrometheusEndpoint ?? environment.IsDevelopment())) return app;
        byte[]? key = string.IsNullOrEmpty(options.MetricsApiKey) ? null : Encoding.UTF8.GetBytes("Bearer " + options.MetricsApiKey);
        if (key is not null)
        {
            app.UseWhen(http => http.Request.Path.Equals(MetricsPath, StringComparison.Ordinal), branch => branch.Use(async (http, next) =>
            {
                byte[] given = Encoding.UTF8.GetBytes(http.Request.Headers.Authorization.ToString());
                if (!CryptographicOperations.FixedTimeEquals(given, key))
                {
                    RealtimeAgentsTelemetry.AuthRefusals.Add(1, new KeyValuePair<string, object?>("reason", "metrics_key"));
                    http.Response.StatusCode = StatusCodes.Status401Unauthorized;
                    http.Response.Headers.WWWAuthenticate = "Bearer";
                    return;
                }
                await next(http).ConfigureAwait(false);
            }));
        }
        app.UseOpenTelemetryPrometheusScrapingEndpoint(MetricsPath);
        return app;
    }

    /// <summary>
    /// Counts refusals (401/403) and limit trips (413/429) of HTTP requests by status; hub
    /// refusals are counted where the hub turns them into errors.
    /// </summary>
    public static IApplicationBuilder UseRealtimeAgentsRefusalCounters(this IApplicationBuilder app) =>
        app.Use(async (http, next) =>
        {
            await next(http).ConfigureAwait(false);
            switch (http.Response.StatusCode)
            {
                case 401: RealtimeAgentsTelemetry.AuthRefusals.Add(1, new KeyValuePair<string, object?>("reason", "unauthenticated")); break;
                case 403: RealtimeAgentsTelemetry.AuthRefusals.Add(1, new KeyValuePair<string, object?>("reason", "forbidden")); break;
                case 413: RealtimeAgentsTelemetry.LimitTrips.Add(1, new KeyValuePair<string, object?>("limit", "size")); break;
                case 429: RealtimeAgentsTelemetry.LimitTrips.Add(1, new KeyValuePair<string, object?>("limit", "rate_or_quota")); break;
            }
        });

    /// <summary>
    /// /healthz: the process answers. /readyz: the store answers and the worker loop (if any)
    /// runs; 503 with the reason otherwise. Both anonymous: load balancers and orchestrators call them.
    /// </summary>
    public static IEndpointRouteBuilder MapRealtimeAgentsHealth(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapHealthChecks("/healthz", new HealthCheckOptions { Predicate = _ => false, ResponseWriter = WriteAsync })
            .AllowAnonymous();
        endpoints.MapHealthChecks("/readyz", new HealthCheckOptions { Predicate = c => c.Tags.Contains("ready"), ResponseWriter = WriteAsync })
            .AllowAnonymous();
        return endpoints;
    }

    private sealed class NoQueueStats : ITaskQueueStats
    {
        public ValueTask<TaskQueueStats> GetStatsAsync(CancellationToken cancellationToken) => ValueTask.FromResult(new TaskQueueStats(0, TimeSpan.Zero));
    }

    private sealed class ZeroPublisher(IServiceProvider services) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            bool worker = services.GetService<Runtime.AgentWorker>() is not null;
            bool hub = services.GetService<Microsoft.AspNetCore.Hosting.Server.IServer>() is not null && !IsWorkerHost();
            RealtimeAgentsTelemetry.PublishZeros(hub, worker);
            return Task.CompletedTask;
        }

        // The worker's optional Kestrel serves only the operational paths; it is no hub.
        private bool IsWorkerHost() =>
            services.GetService<IHostEnvironment>()?.ApplicationName?.EndsWith(".Worker", StringComparison.Ordinal) == true;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }

    private static bool IsOperational(PathString path) =>
        path.StartsWithSegments("/healthz") || path.StartsWithSegments("/readyz") || path.StartsWithSegments(MetricsPath);

    private static Task WriteAsync(HttpContext http, HealthReport report)
    {
        http.Response.ContentType = "application/json";
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("status", report.Status == HealthStatus.Healthy ? "ok" : "unavailable");
            json.WriteStartObject("checks");
            foreach (var (name, entry) in report.Entries)
            {
                json.WriteString(name, (entry.Status == HealthStatus.Healthy ? "ok: " : "failing: ") + entry.Description);
            }
            json.WriteEndObject();
            json.WriteEndObject();
        }
        return http.Response.Body.WriteAsync(buffer.ToArray()).AsTask();
    }
}
