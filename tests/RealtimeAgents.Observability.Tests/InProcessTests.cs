using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.Hosting;
using RealtimeAgents.Client;
using RealtimeAgents.Contracts;
using RealtimeAgents.Core.Observability;
using RealtimeAgents.Testing;
using Xunit;

namespace RealtimeAgents.Observability.Tests;

public sealed class InProcessTests
{
    private static SubmitTaskRequest Demo(string input = "Plan a weekend trip to Porto", int toolCalls = 2) => new()
    {
        Agent = "demo",
        Input = input,
        Options = JsonSerializer.SerializeToElement(new { tokens = 10, tokenIntervalMs = 2, firstTokenDelayMs = 0, toolDelayMs = 5, toolCalls }),
    };

    private static async Task<AgentEvent> RunToEndAsync(RealtimeAgentsClient client, string taskId)
    {
        var subscription = await client.SubscribeAsync(taskId, Cursors.Start).DefaultTimeout();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await foreach (var ev in subscription.ReadEventsAsync(cts.Token))
        {
            if (EventKinds.IsTerminal(ev.Kind)) return ev;
        }
        throw new InvalidOperationException("the subscription ended without a terminal event");
    }

    [Fact]
    public async Task ATasksSpans_FromHubAndWorker_ShareOneTraceId_WithToolCallsAsChildrenOfTheRun()
    {
        await using var redis = await RedisServer.StartAsync();
        string prefix = RedisServer.UniquePrefix();
        var spans = new ConcurrentQueue<Activity>();
        // What an OpenTelemetry exporter would get: our sources and ASP.NET Core's (the request and
        // SignalR spans the submit may sit under), every span recorded.
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name.StartsWith("RealtimeAgents.", StringComparison.Ordinal) || s.Name.StartsWith("Microsoft.AspNetCore", StringComparison.Ordinal),
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = spans.Enqueue,
        };
        ActivitySource.AddActivityListener(listener);
        string[] settings = ["--RealtimeAgents:Redis", redis.ConnectionString, "--RealtimeAgents:RedisKeyPrefix", prefix];
        await using var hub = await InProcessHub.StartAsync(settings);
        using var worker = await InProcessWorker.StartAsync(settings);
        try
        {
            await using var client = await RealtimeAgentsClient.ConnectAsync(hub.HubUrl).DefaultTimeout();
            var first = await client.SubmitAsync(Demo(toolCalls: 2)).DefaultTimeout();
            var second = await client.SubmitAsync(Demo(toolCalls: 1)).DefaultTimeout();
            Assert.Equal(EventKinds.TaskCompleted, (await RunToEndAsync(client, first.TaskId)).Kind);
            Assert.Equal(EventKinds.TaskCompleted, (await RunToEndAsync(client, second.TaskId)).Kind);

            Activity Span(string name, string taskId) =>
                spans.Single(s => s.OperationName == name && (string?)s.GetTagItem("realtime_agents.task_id") == taskId);
            await Eventually.TrueAsync(() => Task.FromResult(spans.Any(s => s.OperationName == "RunTask" &&
                (string?)s.GetTagItem("realtime_agents.task_id") == second.TaskId)), because: "the worker's run span ends");

            var submit = Span("SubmitTask", first.TaskId);
            var run = Span("RunTask", first.TaskId);
            Assert.Equal(RealtimeAgentsTelemetry.HubName, submit.Source.Name);
            Assert.Equal(RealtimeAgentsTelemetry.WorkerName, run.Source.Name);
            Assert.Equal(submit.TraceId, run.TraceId);
            Assert.Equal(submit.SpanId, run.ParentSpanId);
            var tools = spans.Where(s => s.OperationName.StartsWith("ToolCall ", StringComparison.Ordinal) && s.TraceId == run.TraceId).ToList();
            Assert.Equal(2, tools.Count);
            Assert.All(tools, t => Assert.Equal(run.SpanId, t.ParentSpanId));
            Assert.Equal("completed", run.GetTagItem("realtime_agents.outcome"));

            // Tasks submitted on one connection are separate traces, not one connection-long trace.
            var secondRun = Span("RunTask", second.TaskId);
            Assert.NotEqual(run.TraceId, secondRun.TraceId);
            Assert.Equal(Span("SubmitTask", second.TaskId).TraceId, secondRun.TraceId);

            // A resume from a cursor is its own span with the number of events replayed.
            await using (var other = await RealtimeAgentsClient.ConnectAsync(hub.HubUrl).DefaultTimeout())
            {
                var from = await other.SubscribeAsync(first.TaskId, Cursors.Start).DefaultTimeout();
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                var events = new List<AgentEvent>();
                await foreach (var ev in from.ReadEventsAsync(cts.Token)) { events.Add(ev); if (EventKinds.IsTerminal(ev.Kind)) break; }
                string cursor = events[2].Id;
                await using var third = await RealtimeAgentsClient.ConnectAsync(hub.HubUrl).DefaultTimeout();
                var resumed = await third.SubscribeAsync(first.TaskId, cursor).DefaultTimeout();
                await foreach (var ev in resumed.ReadEventsAsync(cts.Token)) if (EventKinds.IsTerminal(ev.Kind)) break;
                await Eventually.TrueAsync(() => Task.FromResult(spans.Any(s => s.OperationName == "ResumeSubscription")), because: "the resume span ends");
                var resume = spans.Single(s => s.OperationName == "ResumeSubscription" && (string?)s.GetTagItem("realtime_agents.task_id") == first.TaskId);
                Assert.Equal((long)(events.Count - 3), resume.GetTagItem("realtime_agents.events_replayed"));
            }
        }
        finally
        {
            await worker.StopAsync().DefaultTimeout(20_000);
        }
    }

    [Fact]
    public async Task Readyz_TurnsUnreadyWithin5s_OfRedisStopping_AndReadyAgainAfterItRestarts()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var hub = await InProcessHub.StartAsync("--RealtimeAgents:Redis", redis.ConnectionString,
            "--RealtimeAgents:RedisKeyPrefix", RedisServer.UniquePrefix());
        using var http = new HttpClient { BaseAddress = hub.BaseUrl, Timeout = TimeSpan.FromSeconds(5) };
        async Task<HttpStatusCode> Status(string path)
        {
            using var response = await http.GetAsync(path).DefaultTimeout();
            return response.StatusCode;
        }
        await Eventually.TrueAsync(async () => await Status("/readyz") == HttpStatusCode.OK, because: "ready with Redis up");

        await redis.StopAsync();
        await Eventually.TrueAsync(async () => await Status("/readyz") == HttpStatusCode.ServiceUnavailable, timeoutMs: 5_000,
            because: "/readyz reports Redis gone within 5 s");
        Assert.Equal(HttpStatusCode.OK, await Status("/healthz")); // the process itself is fine
        using (var body = await http.GetAsync("/readyz").DefaultTimeout())
        {
            Assert.Contains("store", await body.Content.ReadAsStringAsync().DefaultTimeout(), StringComparison.Ordinal);
        }
        Assert.Contains("[StoreUnreachable]", hub.Log.Text, StringComparison.Ordinal);

        await redis.StartAgainAsync();
        await Eventually.TrueAsync(async () => await Status("/readyz") == HttpStatusCode.OK, timeoutMs: 15_000,
            because: "/readyz is ready again once Redis is back");
        Assert.Contains("[StoreReachable]", hub.Log.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ALogWithAuthenticationOn_HoldsNoKeyTokenPasswordOrPrompt_ButOneLinePerTaskEnd()
    {
        const string apiKey = "ak-0f3a9c1e7b2d4c6a8e0f1a2b3c4d5e6f7a8b9c0d";
        const string wrongKey = "ak-wrong-77d1c0ffee5eed0123456789abcdef01";
        const string signingKey = "sk-9c8b7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b";
        const string metricsKey = "mk-5b4a39281706f5e4d3c2b1a0ffeeddccbbaa9988";
        const string redisPassword = "rp-1d2c3b4a5f6e7d8c9b0a";
        const string bogusJwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJtYWxsb3J5In0.c2VjcmV0LXNpZ25hdHVyZS1ub3QtdmFsaWQ";
        const string prompt = "my private prompt 4c1d9e about the merger";
        await using var redis = await RedisServer.StartAsync(new RedisServerOptions { Password = redisPassword });
        await using var hub = await InProcessHub.StartAsync(
            "--RealtimeAgents:Redis", $"{redis.ConnectionString},password={redisPassword}",
            "--RealtimeAgents:RedisKeyPrefix", RedisServer.UniquePrefix(),
            "--RealtimeAgents:Worker:InProcess", "true",
            "--RealtimeAgents:Auth:SigningKey", signingKey,
            "--RealtimeAgents:Auth:ApiKeys:0:Key", apiKey,
            "--RealtimeAgents:Auth:ApiKeys:0:UserId", "svc",
            "--RealtimeAgents:Observability:PrometheusEndpoint", "true",
            "--RealtimeAgents:Observability:MetricsApiKey", metricsKey);
        using var http = new HttpClient { BaseAddress = hub.BaseUrl, Timeout = TimeSpan.FromSeconds(10) };

        // Refused: a wrong key, a forged token, a wrong metrics key.
        foreach (var (name, value) in new[] { ("X-Api-Key", wrongKey), ("Authorization", "Bearer " + bogusJwt) })
        {
            using var refused = new HttpRequestMessage(HttpMethod.Post, "/tasks") { Content = JsonContent.Create(Demo(prompt)) };
            refused.Headers.TryAddWithoutValidation(name, value);
            using var response = await http.SendAsync(refused).DefaultTimeout();
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        }
        using (var wrongMetrics = new HttpRequestMessage(HttpMethod.Get, "/metrics"))
        {
            wrongMetrics.Headers.TryAddWithoutValidation("Authorization", "Bearer " + wrongKey);
            using var response = await http.SendAsync(wrongMetrics).DefaultTimeout();
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        }

        // Accepted: over the hub with the key, run to the end.
        var options = new RealtimeAgentsClientOptions();
        options.Headers["X-Api-Key"] = apiKey;
        await using var client = await RealtimeAgentsClient.ConnectAsync(hub.HubUrl, options).DefaultTimeout();
        var task = await client.SubmitAsync(Demo(prompt)).DefaultTimeout();
        Assert.Equal(EventKinds.TaskCompleted, (await RunToEndAsync(client, task.TaskId)).Kind);
        using (var metrics = new HttpRequestMessage(HttpMethod.Get, "/metrics"))
        {
            metrics.Headers.TryAddWithoutValidation("Authorization", "Bearer " + metricsKey);
            using var response = await http.SendAsync(metrics).DefaultTimeout();
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            string text = await response.Content.ReadAsStringAsync().DefaultTimeout();
            Assert.Contains("realtime_agents_auth_refusals_total", text, StringComparison.Ordinal);
        }
        await Eventually.TrueAsync(() => Task.FromResult(hub.Log.Text.Contains("[TaskEnded]", StringComparison.Ordinal)),
            because: "the task's end is logged");

        string log = hub.Log.Text;
        var ended = log.Split('\n').Where(l => l.Contains("[TaskEnded]", StringComparison.Ordinal)).ToList();
        var line = Assert.Single(ended);
        Assert.StartsWith("Information ", line, StringComparison.Ordinal);
        foreach (var field in new[] { "TaskId=" + task.TaskId, "Agent=demo", "Outcome=completed", "Attempt=1", "DurationMs=", "OutputTokens=", "TtftMs=" })
        {
            Assert.Contains(field, line, StringComparison.Ordinal);
        }
        Assert.True(log.Length > 1000, "the capture holds the run's log (Debug and up)");
        foreach (var secret in new[] { apiKey, wrongKey, signingKey, metricsKey, redisPassword, bogusJwt, prompt })
        {
            Assert.DoesNotContain(secret, log, StringComparison.Ordinal);
        }
    }
}
