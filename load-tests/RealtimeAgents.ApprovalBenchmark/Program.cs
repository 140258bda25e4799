using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using RealtimeAgents.Client;
using RealtimeAgents.Contracts;
using RealtimeAgents.Server;

// Time from RespondToApproval sent (the client saw tool.approval pending) to the tool's
// tool.result at the same client, for the demo agent with requireApproval, one task after
// another. Embedded mode always; Redis mode too with --redis host:port (in-process worker).
//   dotnet run -c Release --project load-tests/RealtimeAgents.ApprovalBenchmark -- [--count 100] [--redis 127.0.0.1:6399]
int count = 100;
string? redis = null;
for (int i = 0; i < args.Length - 1; i++)
{
    if (args[i] == "--count") count = Math.Clamp(int.Parse(args[i + 1], CultureInfo.InvariantCulture), 1, 10_000);
    if (args[i] == "--redis") redis = args[i + 1];
}
await MeasureAsync("embedded", [], count);
if (redis is not null)
{
    await MeasureAsync("redis", [$"--RealtimeAgents:Redis={redis}", $"--RealtimeAgents:RedisKeyPrefix=bench{Environment.ProcessId}:",
        "--RealtimeAgents:Worker:InProcess=true"], count);
}

static async Task MeasureAsync(string mode, string[] settings, int count)
{
    var builder = RealtimeAgentsServer.CreateBuilder(["--urls", "http://127.0.0.1:0", "--Logging:LogLevel:Default=Warning", .. settings]);
    await using var app = RealtimeAgentsServer.Build(builder);
    await app.StartAsync().WaitAsync(TimeSpan.FromSeconds(30));
    string address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
    await using var client = await RealtimeAgentsClient.ConnectAsync(new Uri(new Uri(address), HubMethods.Path));
    var options = JsonSerializer.SerializeToElement(new
    {
        requireApproval = true, toolCalls = 1, tokens = 1, tokenIntervalMs = 0, firstTokenDelayMs = 0, toolDelayMs = 0, reasoning = false,
    });
    var samples = new List<double>(count);
    int warmup = Math.Min(10, count);
    for (int n = 0; n < warmup + count; n++)
    {
        var task = await client.SubmitAsync(new SubmitTaskRequest { Agent = "demo", Input = "Plan a trip to Lyon", Options = options });
        var sub = await client.SubscribeAsync(task.TaskId);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10)); // bounded per task
        long sent = 0;
        await foreach (var e in sub.ReadEventsAsync(cts.Token))
        {
            if (e.Kind == EventKinds.ToolApproval && e.DataAs<ToolApprovalData>() is { Status: ApprovalStates.Pending } p)
            {
                sent = Stopwatch.GetTimestamp();
                await client.RespondToApprovalAsync(task.TaskId, p.ToolCallId, true, cancellationToken: cts.Token);
            }
            else if (e.Kind == EventKinds.ToolResult && n >= warmup)
            {
                samples.Add(Stopwatch.GetElapsedTime(sent).TotalMilliseconds);
            }
        }
        await client.UnsubscribeAsync(task.TaskId);
    }
    samples.Sort();
    double P(double q) => samples[Math.Min(samples.Count - 1, (int)(q * samples.Count))];
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"{mode}: approval sent -> tool.result at the client, n={samples.Count}: median {P(0.5):F2} ms, p90 {P(0.9):F2} ms, p99 {P(0.99):F2} ms, max {samples[^1]:F2} ms"));
    await app.StopAsync();
}
