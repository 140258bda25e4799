using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.RegularExpressions;
using RealtimeAgents.Client;
using RealtimeAgents.Contracts;
using RealtimeAgents.Testing;
using Xunit;

namespace RealtimeAgents.Observability.Tests;

/// <summary>
/// The deployment as an operator runs it: a real prometheus (Debian's) scraping a real hub and a
/// real worker process over their /metrics, asked through its HTTP API.
/// </summary>
public sealed partial class PrometheusDeploymentTests
{
    private const int Tasks = 5;
    private const string MetricsKey = "metrics-key-for-the-deployment-test-0123";

    [Fact]
    public async Task Prometheus_ScrapingAHubAndAWorker_CountsEveryTaskRunInTtft_AndHasEveryDocumentedMetric()
    {
        string prometheusBinary = FindOnPath("prometheus")
            ?? throw new InvalidOperationException("prometheus is not installed: apt-get install prometheus (test.sh does)");
        await using var redis = await RedisServer.StartAsync();
        var env = new Dictionary<string, string>
        {
            ["RealtimeAgents__Redis"] = redis.ConnectionString,
            ["RealtimeAgents__RedisKeyPrefix"] = RedisServer.UniquePrefix(),
            ["RealtimeAgents__Observability__PrometheusEndpoint"] = "true",
            ["RealtimeAgents__Observability__MetricsApiKey"] = MetricsKey,
            ["ASPNETCORE_ENVIRONMENT"] = "Production",
            ["DOTNET_ENVIRONMENT"] = "Production",
        };
        using var hub = NodeProcess.Start("hub", "RealtimeAgents.Server.dll", ["--urls", "http://127.0.0.1:0"], env);
        var hubUrl = await hub.WaitForListeningAsync().DefaultTimeout(30_000);
        var workerEnv = new Dictionary<string, string>(env) { ["RealtimeAgents__Worker__HttpUrls"] = "http://127.0.0.1:0" };
        using var worker = NodeProcess.Start("worker", "RealtimeAgents.Worker.dll", [], workerEnv);
        var workerUrl = await worker.WaitForListeningAsync().DefaultTimeout(30_000);
        await worker.WaitForLogAsync("takes up to").DefaultTimeout(30_000);

        string dir = Directory.CreateTempSubdirectory("ra-prometheus-").FullName;
        int port = FreePort();
        File.WriteAllText(Path.Combine(dir, "prometheus.yml"), $"""
            global:
              scrape_interval: 1s
            scrape_configs:
              - job_name: hub
                authorization: {"{"} credentials: "{MetricsKey}" {"}"}
                static_configs: [{"{"} targets: ["{hubUrl.Authority}"] {"}"}]
              - job_name: worker
                authorization: {"{"} credentials: "{MetricsKey}" {"}"}
                static_configs: [{"{"} targets: ["{workerUrl.Authority}"] {"}"}]
            """);
        var info = new ProcessStartInfo(prometheusBinary,
            [$"--config.file={Path.Combine(dir, "prometheus.yml")}", $"--storage.tsdb.path={Path.Combine(dir, "data")}",
             $"--web.listen-address=127.0.0.1:{port}"])
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        using var prometheus = Process.Start(info)!;
        prometheus.OutputDataReceived += (_, _) => { };
        prometheus.ErrorDataReceived += (_, _) => { };
        prometheus.BeginOutputReadLine();
        prometheus.BeginErrorReadLine();
        using var api = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(5) };
        try
        {
            await Eventually.TrueAsync(async () =>
            {
                try { using var ready = await api.GetAsync("/-/ready"); return ready.IsSuccessStatusCode; }
                catch (HttpRequestException) { return false; }
            }, timeoutMs: 30_000, because: "prometheus starts");

            await using var client = await RealtimeAgentsClient.ConnectAsync(new Uri(hubUrl, HubMethods.Path)).DefaultTimeout(15_000);
            var ids = new List<string>();
            for (int i = 0; i < Tasks; i++)
            {
                var submitted = await client.SubmitAsync(new SubmitTaskRequest
                {
                    Agent = "demo",
                    Input = "Plan a weekend trip to Porto",
                    Options = JsonSerializer.SerializeToElement(new { tokens = 10, tokenIntervalMs = 2, firstTokenDelayMs = 0, toolDelayMs = 5, toolCalls = 1 }),
                }).DefaultTimeout();
                ids.Add(submitted.TaskId);
            }
            string? cursor = null;
            foreach (var id in ids)
            {
                var subscription = await client.SubscribeAsync(id, Cursors.Start).DefaultTimeout();
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
                await foreach (var ev in subscription.ReadEventsAsync(cts.Token))
                {
                    cursor ??= ev.Id;
                    if (EventKinds.IsTerminal(ev.Kind)) { Assert.Equal(EventKinds.TaskCompleted, ev.Kind); break; }
                }
            }
            // A resume from a cursor, so the replay histogram has a sample.
            await using (var other = await RealtimeAgentsClient.ConnectAsync(new Uri(hubUrl, HubMethods.Path)).DefaultTimeout(15_000))
            {
                var resumed = await other.SubscribeAsync(ids[0], cursor).DefaultTimeout();
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
                await foreach (var ev in resumed.ReadEventsAsync(cts.Token)) if (EventKinds.IsTerminal(ev.Kind)) break;
            }

            double ttftCount = -1;
            await Eventually.TrueAsync(async () =>
            {
                ttftCount = await QueryScalarAsync(api, "sum(realtime_agents_task_time_to_first_token_seconds_count)");
                return ttftCount == Tasks;
            }, timeoutMs: 30_000, because: "prometheus scrapes the worker's TTFT histogram");
            Assert.Equal(Tasks, ttftCount);
            double submittedCount = -1;
            for (var until = DateTime.UtcNow.AddSeconds(15); DateTime.UtcNow < until && submittedCount != Tasks; await Task.Delay(250))
            {
                submittedCount = await QueryScalarAsync(api, "sum(realtime_agents_tasks_submitted_total)");
            }
            Assert.True(submittedCount == Tasks, $"submitted {submittedCount}; targets: {await TargetsAsync(api)}");

            var documented = DocumentedMetricNames();
            Assert.True(documented.Count >= 15, $"docs/operations.md lists the metrics ({documented.Count} found)");
            List<string> missing = [];
            await Eventually.TrueAsync(async () =>
            {
                using var response = await api.GetAsync("/api/v1/label/__name__/values");
                using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
                var names = json.RootElement.GetProperty("data").EnumerateArray().Select(e => e.GetString()!).ToList();
                missing = documented.Where(d => !names.Any(n => n == d || n.StartsWith(d + "_", StringComparison.Ordinal))).ToList();
                return missing.Count == 0;
            }, timeoutMs: 15_000, because: "every documented metric is in prometheus");
            Assert.Empty(missing);
        }
        finally
        {
            if (!prometheus.HasExited) prometheus.Kill(entireProcessTree: true);
            prometheus.WaitForExit(10_000);
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { }
        }
    }

    private static async Task<string> TargetsAsync(HttpClient api)
    {
        using var response = await api.GetAsync("/api/v1/targets").DefaultTimeout();
        return await response.Content.ReadAsStringAsync().DefaultTimeout();
    }

    private static async Task<double> QueryScalarAsync(HttpClient api, string query)
    {
        using var response = await api.GetAsync("/api/v1/query?query=" + Uri.EscapeDataString(query)).DefaultTimeout();
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync().DefaultTimeout());
        var result = json.RootElement.GetProperty("data").GetProperty("result");
        if (result.GetArrayLength() == 0) return -1;
        return double.Parse(result[0].GetProperty("value")[1].GetString()!, CultureInfo.InvariantCulture);
    }

    /// <summary>The Prometheus names of the metrics table in docs/operations.md.</summary>
    internal static List<string> DocumentedMetricNames() =>
        File.ReadAllLines(Path.Combine(AppContext.BaseDirectory, "operations.md"))
            .Select(l => MetricRow().Match(l)).Where(m => m.Success).Select(m => m.Groups[1].Value).ToList();

    [GeneratedRegex(@"^\| `realtime_agents\.[a-z_.]+` \| `(realtime_agents_[a-z_]+)` \|")]
    private static partial Regex MetricRow();

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static string? FindOnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Select(d => Path.Combine(d, name)).FirstOrDefault(File.Exists);
}
