using RealtimeAgents.Agents;
using RealtimeAgents.Core;
using RealtimeAgents.Core.Runtime;

// A worker needs Redis: it shares the queue and the streams with the hub nodes.
// RealtimeAgents__Redis=localhost:6379 dotnet run --project src/RealtimeAgents.Worker
var builder = Host.CreateApplicationBuilder(args);
var section = builder.Configuration.GetSection("RealtimeAgents");
if (string.IsNullOrWhiteSpace(section["Redis"]))
{
    await Console.Error.WriteLineAsync(
        "RealtimeAgents.Worker needs Redis: set RealtimeAgents__Redis=host:port (or RealtimeAgents:Redis in appsettings.json). " +
        "For one process without Redis, run the server alone: it has an in-process worker.").ConfigureAwait(false);
    return 2;
}
builder.Services.AddRealtimeAgents(section);
builder.Services.AddBuiltInAgents();
builder.Services.AddAgentWorker();
// Give running tasks their grace period on SIGTERM, plus time to hand the rest back.
var grace = section.GetSection("Worker").GetValue<TimeSpan?>("ShutdownGrace") ?? new WorkerOptions().ShutdownGrace;
builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = grace + TimeSpan.FromSeconds(15));
await builder.Build().RunAsync().ConfigureAwait(false);
return 0;
