using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using RealtimeAgents.Agents;
using RealtimeAgents.Core;
using RealtimeAgents.Core.Observability;
using RealtimeAgents.Core.Runtime;

// A worker needs Redis: it shares the queue and the streams with the hub nodes.
// RealtimeAgents__Redis=localhost:6379 dotnet run --project src/RealtimeAgents.Worker
// With RealtimeAgents__Worker__HttpUrls=http://127.0.0.1:9091 it also serves /healthz, /readyz and /metrics.
var probe = Host.CreateApplicationBuilder(args);
var section = probe.Configuration.GetSection("RealtimeAgents");
if (string.IsNullOrWhiteSpace(section["Redis"]))
{
    await Console.Error.WriteLineAsync(
        "RealtimeAgents.Worker needs Redis: set RealtimeAgents__Redis=host:port (or RealtimeAgents:Redis in appsettings.json). " +
        "For one process without Redis, run the server alone: it has an in-process worker.").ConfigureAwait(false);
    return 2;
}
// No HTTP unless asked for: a plain host. With HttpUrls: a small Kestrel for the operational endpoints only.
string? httpUrls = section.GetSection("Worker")["HttpUrls"];
IHostApplicationBuilder builder = string.IsNullOrWhiteSpace(httpUrls) ? probe : WebApplication.CreateBuilder(args);
section = builder.Configuration.GetSection("RealtimeAgents");
builder.Services.AddRealtimeAgents(section);
builder.Services.AddBuiltInAgents();
builder.Services.AddAgentWorker();
builder.Services.AddRealtimeAgentsObservability(section.GetSection("Observability"), builder.Environment, "realtime-agents-worker");
// Give running tasks their grace period on SIGTERM, plus time to hand the rest back.
var grace = section.GetSection("Worker").GetValue<TimeSpan?>("ShutdownGrace") ?? new WorkerOptions().ShutdownGrace;
builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = grace + TimeSpan.FromSeconds(15));
if (builder is WebApplicationBuilder web)
{
    web.WebHost.UseUrls(httpUrls!);
    var app = web.Build();
    app.UseRealtimeAgentsMetrics();
    app.MapRealtimeAgentsHealth();
    await app.RunAsync().ConfigureAwait(false);
}
else
{
    await probe.Build().RunAsync().ConfigureAwait(false);
}
return 0;
