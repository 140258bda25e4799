using System.Diagnostics;
using System.Globalization;
using System.Text;
using RealtimeAgents.Redis;
using RealtimeAgents.Testing;

// Compares our client with redis-benchmark (C, hand-tuned event loop) against the same local redis-server:
//  1. pipelined throughput: 50 concurrent callers doing XADD, vs redis-benchmark -c 50 -P 16;
//  2. single-caller round trip: sequential PING, vs redis-benchmark -c 1 -P 1.
// Several rounds each; medians are reported. Usage: [--rounds N] [--ops N] [--latency-ops N] [--no-doc] [--inline]

var settings = Settings.Parse(args);
CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;

await using RedisServer server = await RedisServer.StartAsync();
Console.WriteLine($"redis-server pid {server.Pid} on port {server.Port}; {Environment.ProcessorCount} cores; {settings.Rounds} rounds");

RedisOptions options = RedisOptions.Parse(server.ConnectionString);
options.InlineContinuations = settings.Inline;
await using RedisClient client = await RedisClient.ConnectAsync(options);

var ourThroughput = new List<double>();
var benchThroughput = new List<double>();
var ourP50 = new List<double>();
var ourP99 = new List<double>();
var benchP50 = new List<double>();
var benchP99 = new List<double>();
var ourMean = new List<double>();
var benchMean = new List<double>();

// Warm-up: JIT, tiered compilation, socket buffers.
// Two passes: the first round after a single pass still ran measurably slower (tiered JIT).
for (int pass = 0; pass < 2; pass++)
{
    await XAddThroughput(client, "bench:warm", 50, 200_000);
    await PingLatency(client, 10_000);
}

await client.DelAsync("bench:warm");

// Allocation per call, measured on its own (the whole process, so it includes the benchmark's own loop).
long before = GC.GetTotalAllocatedBytes(precise: true);
await XAddThroughput(client, "bench:alloc", 50, 100_000);
double xaddBytes = (GC.GetTotalAllocatedBytes(precise: true) - before) / 100_000.0;
await client.DelAsync("bench:alloc");
before = GC.GetTotalAllocatedBytes(precise: true);
await PingLatency(client, 20_000);
double pingBytes = (GC.GetTotalAllocatedBytes(precise: true) - before) / 20_000.0;
Console.WriteLine($"allocated per call: XADD {xaddBytes:F0} B, PING {pingBytes:F0} B");

for (int round = 1; round <= settings.Rounds; round++)
{
    double ours = await XAddThroughput(client, "bench:ours", 50, settings.Ops);
    await client.DelAsync("bench:ours");
    Csv theirs = RunRedisBenchmark(server.Port, $"-c 50 -P 16 -n {settings.Ops} --csv XADD bench:theirs * f v");
    await client.DelAsync("bench:theirs");
    ourThroughput.Add(ours);
    benchThroughput.Add(theirs.Rps);

    (double p50, double p99, double mean) = await PingLatency(client, settings.LatencyOps);
    Csv single = RunRedisBenchmark(server.Port, $"-c 1 -P 1 -n {settings.LatencyOps} --precision 3 --csv PING");
    ourP50.Add(p50);
    ourP99.Add(p99);
    benchP50.Add(single.P50Ms * 1000);
    benchP99.Add(single.P99Ms * 1000);
    ourMean.Add(mean);
    benchMean.Add(1e6 / single.Rps); // sequential calls: the mean round trip is 1 / throughput
    Console.WriteLine($"round {round}: XADD ours {ours:N0}/s, redis-benchmark {theirs.Rps:N0}/s | PING p50 ours {p50:F1} us, redis-benchmark {single.P50Ms * 1000:F1} us | p99 {p99:F1} vs {single.P99Ms * 1000:F1} us");
}

string table = Report(settings, ourThroughput, benchThroughput, ourP50, benchP50, ourP99, benchP99, ourMean, benchMean)
    + $"Allocated per call (whole process, 50-caller XADD / sequential PING): {xaddBytes:F0} B / {pingBytes:F0} B.\n";
Console.WriteLine();
Console.WriteLine(table);
if (settings.WriteDoc)
{
    WriteIntoDoc(table, settings.Inline ? "benchmark-inline" : "benchmark");
}

static async Task<double> XAddThroughput(RedisClient client, string key, int callers, int totalOps)
{
    int remaining = totalOps;
    var deadline = Stopwatch.StartNew();
    var watch = Stopwatch.StartNew();
    int done = 0;
    Task[] workers = [.. Enumerable.Range(0, callers).Select(_ => Task.Run(async () =>
    {
        while (Interlocked.Decrement(ref remaining) >= 0 && deadline.Elapsed < TimeSpan.FromSeconds(10))
        {
            await client.XAddAsync(key, [("f", "v")]);
            Interlocked.Increment(ref done);
        }
    }))];
    await Task.WhenAll(workers);
    return done / watch.Elapsed.TotalSeconds;
}

static async Task<(double P50Us, double P99Us, double MeanUs)> PingLatency(RedisClient client, int calls)
{
    var samples = new double[calls];
    long begin = Stopwatch.GetTimestamp();
    for (int i = 0; i < calls; i++)
    {
        long start = Stopwatch.GetTimestamp();
        await client.PingAsync();
        samples[i] = Stopwatch.GetElapsedTime(start).TotalMicroseconds;
    }

    double mean = Stopwatch.GetElapsedTime(begin).TotalMicroseconds / calls;
    Array.Sort(samples);
    return (samples[calls / 2], samples[(int)(calls * 0.99)], mean);
}

static Csv RunRedisBenchmark(int port, string arguments)
{
    var start = new ProcessStartInfo("redis-benchmark", $"-p {port} {arguments}")
    {
        RedirectStandardOutput = true,
        RedirectStandardError = true,
        UseShellExecute = false,
    };
    using Process process = Process.Start(start) ?? throw new InvalidOperationException("redis-benchmark did not start (apt-get install -y redis-tools).");
    string output = process.StandardOutput.ReadToEnd();
    process.WaitForExit();
    // "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"
    string row = output.Split('\n').Last(l => l.StartsWith('"') && !l.StartsWith("\"test\"", StringComparison.Ordinal));
    string[] cells = [.. row.Split("\",\"").Select(c => c.Trim('"', '\r'))];
    return new Csv(double.Parse(cells[1], CultureInfo.InvariantCulture), double.Parse(cells[4], CultureInfo.InvariantCulture), double.Parse(cells[6], CultureInfo.InvariantCulture));
}

static double Median(List<double> values)
{
    var sorted = values.Order().ToList();
    return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2;
}

static string Report(Settings s, List<double> ourTp, List<double> benchTp, List<double> ourP50, List<double> benchP50, List<double> ourP99, List<double> benchP99,
    List<double> ourMean, List<double> benchMean)
{
    var sb = new StringBuilder();
    sb.AppendLine(CultureInfo.InvariantCulture, $"Machine: {Environment.ProcessorCount} cores, {System.Runtime.InteropServices.RuntimeInformation.OSDescription.Trim()}, .NET {Environment.Version}; redis-server and redis-benchmark 7.0.15 on loopback; {s.Rounds} rounds, medians.");
    sb.AppendLine(CultureInfo.InvariantCulture, $"Continuations: {(s.Inline ? "inline on the reader (InlineContinuations = true)" : "thread pool (the default)")}; socket completions: {(InlineSocketCompletions() ? "inline on the epoll thread (DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1)" : "thread pool (the .NET default)")}.");
    sb.AppendLine();
    sb.AppendLine("| measure | ours | redis-benchmark | ours / redis-benchmark | target |");
    sb.AppendLine("|---|---|---|---|---|");
    double tp = Median(ourTp), btp = Median(benchTp);
    sb.AppendLine(CultureInfo.InvariantCulture, $"| XADD throughput, 50 callers (ours) vs -c 50 -P 16, {s.Ops:N0} ops | {tp:N0} ops/s | {btp:N0} ops/s | {tp / btp:F2}x | >= 0.5x |");
    double p50 = Median(ourP50), bp50 = Median(benchP50);
    sb.AppendLine(CultureInfo.InvariantCulture, $"| PING round trip p50, 1 caller vs -c 1 -P 1, {s.LatencyOps:N0} calls | {p50:F1} us | {bp50:F1} us | {p50 / bp50:F2}x | <= 1.3x |");
    double p99 = Median(ourP99), bp99 = Median(benchP99);
    sb.AppendLine(CultureInfo.InvariantCulture, $"| PING round trip p99 | {p99:F1} us | {bp99:F1} us | {p99 / bp99:F2}x | |");
    double mean = Median(ourMean), bmean = Median(benchMean);
    sb.AppendLine(CultureInfo.InvariantCulture, $"| PING round trip mean (elapsed / calls) | {mean:F1} us | {bmean:F1} us | {mean / bmean:F2}x | |");
    sb.AppendLine();
    sb.AppendLine(CultureInfo.InvariantCulture, $"Median of the per-round ratios (each round runs both back to back, so they share the machine's load at that moment): throughput {Median([.. ourTp.Zip(benchTp, (o, b) => o / b)]):F2}x, PING p50 {Median([.. ourP50.Zip(benchP50, (o, b) => o / b)]):F2}x, PING mean {Median([.. ourMean.Zip(benchMean, (o, b) => o / b)]):F2}x.");
    sb.AppendLine(CultureInfo.InvariantCulture, $"Load average when the run ended: {LoadAverage()}.");
    sb.AppendLine();
    sb.AppendLine(CultureInfo.InvariantCulture, $"Per round, XADD ops/s ours: {string.Join(", ", ourTp.Select(v => v.ToString("N0", CultureInfo.InvariantCulture)))}; redis-benchmark: {string.Join(", ", benchTp.Select(v => v.ToString("N0", CultureInfo.InvariantCulture)))}.");
    sb.AppendLine(CultureInfo.InvariantCulture, $"Per round, PING p50 us ours: {string.Join(", ", ourP50.Select(v => v.ToString("F1", CultureInfo.InvariantCulture)))}; redis-benchmark: {string.Join(", ", benchP50.Select(v => v.ToString("F1", CultureInfo.InvariantCulture)))}.");
    return sb.ToString();
}

static bool InlineSocketCompletions() => Environment.GetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS") == "1";

static string LoadAverage() =>
    File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "unknown";

static void WriteIntoDoc(string table, string marker)
{
    string? dir = AppContext.BaseDirectory;
    while (dir is not null && !File.Exists(Path.Combine(dir, "RealtimeAgents.sln")))
    {
        dir = Path.GetDirectoryName(dir);
    }

    if (dir is null)
    {
        Console.WriteLine("Repository root not found; docs/redis-client.md not updated.");
        return;
    }

    string path = Path.Combine(dir, "docs", "redis-client.md");
    string begin = $"<!-- {marker}:begin -->";
    string end = $"<!-- {marker}:end -->";
    string doc = File.Exists(path) ? File.ReadAllText(path) : $"# Redis client\n\n## Benchmark\n\n{begin}\n{end}\n";
    int b = doc.IndexOf(begin, StringComparison.Ordinal);
    int e = doc.IndexOf(end, StringComparison.Ordinal);
    if (b < 0 || e < b)
    {
        doc += $"\n## Benchmark\n\n{begin}\n{end}\n";
        b = doc.IndexOf(begin, StringComparison.Ordinal);
        e = doc.IndexOf(end, StringComparison.Ordinal);
    }

    string command = (InlineSocketCompletions() ? "DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1 " : "")
        + "dotnet run -c Release --project load-tests/RealtimeAgents.Redis.Benchmarks" + (marker == "benchmark" ? "" : " -- --inline");
    string stamped = $"Measured {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC with `{command}`.\n\n{table}";
    doc = string.Concat(doc.AsSpan(0, b + begin.Length), "\n", stamped, doc.AsSpan(e));
    File.WriteAllText(path, doc);
    Console.WriteLine($"Updated {path}");
}

internal readonly record struct Csv(double Rps, double P50Ms, double P99Ms);

internal sealed record Settings(int Rounds, int Ops, int LatencyOps, bool WriteDoc, bool Inline)
{
    public static Settings Parse(string[] args)
    {
        int rounds = 5, ops = 200_000, latencyOps = 20_000;
        bool doc = true, inline = false;
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--rounds": rounds = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--ops": ops = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--latency-ops": latencyOps = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--no-doc": doc = false; break;
                case "--inline": inline = true; break;
                default: throw new ArgumentException($"Unknown argument {args[i]}");
            }
        }

        return new Settings(rounds, ops, latencyOps, doc, inline);
    }
}
