// Time to first token of one demo task, over SSE and over SignalR, measured in one run.
//
//   dotnet run -c Release --project load-tests/RealtimeAgents.HttpTtft -- [--runs 100] [--url http://host:port]
//
// Without --url the server runs in this process (embedded mode, 127.0.0.1, a free port). Each
// round measures both transports, alternating which goes first:
//   SSE:     POST /tasks, then GET /tasks/{id}/events, until the first text.delta frame
//   SignalR: SubmitTask, then Subscribe, until the first "event" with kind text.delta
// on connections opened before the clock starts (an HTTP keep-alive connection, one WebSocket),
// for the demo agent with firstTokenDelayMs=0, toolCalls=0, reasoning=false. Each stream is
// read to its terminal event outside the timed part, so tasks never pile up.
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using RealtimeAgents.Client;
using RealtimeAgents.Contracts;
using RealtimeAgents.Server;

int runs = 100, warmup = 10;
string? url = null;
for (int i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--runs": runs = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--warmup": warmup = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--url": url = args[++i]; break;
        default: Console.Error.WriteLine($"unknown argument {args[i]}"); return 2;
    }
}

WebApplication? app = null;
if (url is null)
{
    var builder = RealtimeAgentsServer.CreateBuilder(["--urls", "http://127.0.0.1:0"], b => b.Logging.SetMinimumLevel(LogLevel.Warning));
    app = RealtimeAgentsServer.Build(builder);
    await app.StartAsync();
    url = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
}
var baseUri = new Uri(url);
var options = JsonSerializer.SerializeToElement(new { tokens = 5, tokenIntervalMs = 1, firstTokenDelayMs = 0, toolCalls = 0, reasoning = false });
var request = new SubmitTaskRequest { Agent = "demo", Input = "Plan a weekend trip to Porto", Options = options };
string body = JsonSerializer.Serialize(request, ContractsJsonContext.Default.SubmitTaskRequest);

using var http = new HttpClient { BaseAddress = baseUri };
await using var hub = await RealtimeAgentsClient.ConnectAsync(new Uri(baseUri, HubMethods.Path));

async Task<double> SseAsync()
{
    long start = Stopwatch.GetTimestamp();
    using var created = await http.PostAsync("/tasks", new StringContent(body, Encoding.UTF8, "application/json"));
    created.EnsureSuccessStatusCode();
    var task = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("taskId").GetString();
    using var response = await http.GetAsync($"/tasks/{task}/events", HttpCompletionOption.ResponseHeadersRead);
    using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
    double? ttft = null;
    while (await reader.ReadLineAsync() is { } line)
    {
        if (ttft is null && line == "event: text.delta") ttft = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
    }
    return ttft ?? throw new InvalidOperationException("the SSE stream ended without a text.delta");
}

async Task<double> SignalRAsync()
{
    long start = Stopwatch.GetTimestamp();
    var task = await hub.SubmitAsync(request);
    var subscription = await hub.SubscribeAsync(task.TaskId);
    double? ttft = null;
    await foreach (var e in subscription.ReadEventsAsync())
    {
        if (ttft is null && e.Kind == EventKinds.TextDelta) ttft = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        if (EventKinds.IsTerminal(e.Kind)) break;
    }
    return ttft ?? throw new InvalidOperationException("the SignalR stream ended without a text.delta");
}

var sse = new List<double>();
var signalR = new List<double>();
for (int round = 0; round < warmup + runs; round++)
{
    bool sseFirst = round % 2 == 0;
    double a = sseFirst ? await SseAsync() : await SignalRAsync();
    double b = sseFirst ? await SignalRAsync() : await SseAsync();
    if (round < warmup) continue;
    sse.Add(sseFirst ? a : b);
    signalR.Add(sseFirst ? b : a);
}

static string Summary(string name, List<double> ms)
{
    ms.Sort();
    double P(double q) => ms[Math.Min(ms.Count - 1, (int)Math.Ceiling(q * ms.Count) - 1)];
    return string.Create(CultureInfo.InvariantCulture,
        $"{name,-8} median {P(0.5),7:F2} ms   p90 {P(0.9),7:F2} ms   min {ms[0],7:F2} ms   max {ms[^1],7:F2} ms   (n={ms.Count})");
}

Console.WriteLine($"time to first token, demo agent (firstTokenDelayMs=0, toolCalls=0, reasoning=false), {runs} interleaved rounds after {warmup} warm-up, server {(app is null ? url : "in process")}, {Environment.ProcessorCount} cores");
if (File.Exists("/proc/loadavg")) Console.WriteLine($"load average (1/5/15 min): {string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3))}");
Console.WriteLine(Summary("SSE", sse));
Console.WriteLine(Summary("SignalR", signalR));

if (app is not null)
{
    await app.StopAsync();
    await app.DisposeAsync();
}
return 0;
