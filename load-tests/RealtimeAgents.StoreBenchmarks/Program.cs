using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using RealtimeAgents.Contracts;
using RealtimeAgents.Core;
using RealtimeAgents.Core.Redis;
using StackExchange.Redis;
using RealtimeAgents.Testing;

// The Redis event log's append (append_event.lua: fence, seq, XADD MAXLEN ~, SPUBLISH) as one
// worker process does it: one appender, and 64 concurrent appenders on 64 task streams (a worker
// running 64 tasks). Starts its own redis-server on a free loopback port; bounded in count and time.
// dotnet run -c Release --project load-tests/RealtimeAgents.StoreBenchmarks [-- --rounds 3]
int rounds = args.Length >= 2 && args[0] == "--rounds" ? int.Parse(args[1], CultureInfo.InvariantCulture) : 3;
await using var server = await RedisServer.StartAsync();
await using var client = await ConnectionMultiplexer.ConnectAsync(server.ConnectionString);
var log = new RedisEventLog(client, new RedisKeys("bench:"), Options.Create(new EventLogOptions()), NullLogger<RedisEventLog>.Instance);
// The payload as the agent context encodes it, once.
var data = EventPayload.Encode(new TextData("msg_1", " token"), ContractsJsonContext.Default.TextData);

async Task<(double PerSecond, double P50, double P99)> RunAsync(int appenders, int perAppender)
{
    var latencies = new double[appenders * perAppender];
    var total = Stopwatch.StartNew();
    await Task.WhenAll(Enumerable.Range(0, appenders).Select(a => Task.Run(async () =>
    {
        string taskId = "t" + Guid.NewGuid().ToString("N");
        for (int i = 0; i < perAppender; i++)
        {
            long start = Stopwatch.GetTimestamp();
            await log.AppendAsync(taskId, "th", EventKinds.TextDelta, data, 1_700_000_000_000.5, attempt: 1);
            latencies[a * perAppender + i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        }
    })));
    double seconds = total.Elapsed.TotalSeconds;
    Array.Sort(latencies);
    return (latencies.Length / seconds, latencies[latencies.Length / 2], latencies[(int)(latencies.Length * 0.99)]);
}

await RunAsync(16, 500); // warm-up: JIT, script load, connections
var single = new List<(double, double, double)>();
var many = new List<(double, double, double)>();
for (int r = 0; r < rounds; r++)
{
    single.Add(await RunAsync(1, 20_000));
    many.Add(await RunAsync(64, 3_000));
}
static double Median(IEnumerable<double> xs) { var s = xs.Order().ToArray(); return s[s.Length / 2]; }
string Row(string name, List<(double PerSecond, double P50, double P99)> runs) => string.Create(CultureInfo.InvariantCulture,
    $"| {name} | {Median(runs.Select(r => r.PerSecond)):N0} | {Median(runs.Select(r => r.P50)):0.000} | {Median(runs.Select(r => r.P99)):0.000} |");
Console.WriteLine($"Redis event log append (append_event.lua), {Environment.ProcessorCount} cores, median of {rounds} rounds");
Console.WriteLine("| appenders | appends/s | p50 ms | p99 ms |");
Console.WriteLine("|---|---:|---:|---:|");
Console.WriteLine(Row("1 (sequential)", single));
Console.WriteLine(Row("64 concurrent task streams", many));
