using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using RealtimeAgents.Client;
using RealtimeAgents.Contracts;
using RealtimeAgents.Server.Http;
using RealtimeAgents.Testing;
using Xunit;
using Xunit.Abstractions;

namespace RealtimeAgents.Auth.Tests;

/// <summary>
/// Redis stopped under a running hub: every transport says "unavailable" (hub code, HTTP 503 with
/// Retry-After), not "internal", and the SDK's call made during the outage completes once Redis is back.
/// </summary>
public sealed class StoreOutageTests(ITestOutputHelper output)
{
    [Fact]
    public async Task WithRedisStopped_CallsAnswerUnavailable_AndTheSdkRecoversWhenRedisReturns()
    {
        // With persistence, as in production: the data is there again when Redis returns.
        await using var redis = await RedisServer.StartAsync(new RedisServerOptions { AppendOnly = true });
        await using var server = await AuthServer.StartAsync($"--RealtimeAgents:Redis={redis.ConnectionString}",
            $"--RealtimeAgents:RedisKeyPrefix={RedisServer.UniquePrefix()}", "--RealtimeAgents:Worker:InProcess=true");
        string token = Tokens.For("outage-" + Guid.NewGuid().ToString("N")[..6]);
        using var http = server.Http(token);
        using (var created = await http.PostAsync("/tasks", AuthServer.Json(AuthServer.Demo())).DefaultTimeout())
        {
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        }
        var raw = await server.ConnectAsync(token);
        var task = await raw.SubmitAsync(AuthServer.Demo()).DefaultTimeout();
        // Connected before the outage: a connection opened during it is closed by the server once
        // the SignalR backplane's subscription for it gives up (the official backplane needs Redis
        // to accept a connection), which is not what this test is about.
        var sdk = await RealtimeAgentsClient.ConnectAsync(server.HubUrl, new RealtimeAgentsClientOptions
        {
            AccessTokenProvider = () => Task.FromResult<string?>(token),
            AutomaticReconnect = false,
        }).DefaultTimeout();
        await using var _ = sdk;

        await redis.StopAsync();

        var clock = Stopwatch.StartNew();
        using (var refused = await http.GetAsync($"/tasks/{task.TaskId}").DefaultTimeout(30_000))
        {
            output.WriteLine($"GET /tasks/{{id}} with Redis down: {(int)refused.StatusCode} after {clock.ElapsedMilliseconds} ms, Retry-After {refused.Headers.RetryAfter}");
            var (status, problem) = await AuthServer.ProblemAsync(refused);
            Assert.Equal(503, status);
            Assert.Equal("unavailable", problem.GetProperty("code").GetString());
            Assert.True(refused.Headers.RetryAfter?.Delta is { TotalSeconds: >= 1 });
            Assert.DoesNotContain("Redis", problem.GetRawText(), StringComparison.Ordinal);
        }
        using (var refused = await http.PostAsync("/tasks", AuthServer.Json(AuthServer.Demo())).DefaultTimeout(30_000))
        {
            var (status, problem) = await AuthServer.ProblemAsync(refused);
            Assert.Equal(503, status);
            Assert.Equal("unavailable", problem.GetProperty("code").GetString());
        }
        // The hub, with retries off: the refusal itself.
        var ex = await Assert.ThrowsAsync<HubException>(() => raw.Connection.InvokeAsync<TaskInfo>(HubMethods.GetTask, task.TaskId)).DefaultTimeout(30_000);
        Assert.Contains("HubException: unavailable: ", ex.Message, StringComparison.Ordinal);
        Assert.True(RealtimeAgentsClient.IsUnavailable(ex));

        // The SDK retries with backoff: a call made during the outage completes once Redis is back.
        var pending = sdk.GetTaskAsync(task.TaskId);
        await Task.Delay(1000);
        Assert.False(pending.IsCompleted, "the call should still be retrying while Redis is down");
        await redis.StartAgainAsync();
        var info = await pending.DefaultTimeout(30_000);
        Assert.Equal(task.TaskId, info.TaskId);
        var again = await sdk.SubmitAsync(AuthServer.Demo()).DefaultTimeout(30_000);
        var events = await (await sdk.SubscribeAsync(again.TaskId).DefaultTimeout()).ReadAllAsync();
        Assert.Equal(EventKinds.TaskCompleted, events[^1].Kind);
    }
}

internal static class SubscriptionReading
{
    public static async Task<List<AgentEvent>> ReadAllAsync(this TaskSubscription sub)
    {
        var events = new List<AgentEvent>();
        using var cts = new CancellationTokenSource(30_000);
        await foreach (var ev in sub.ReadEventsAsync(cts.Token)) events.Add(ev);
        return events;
    }
}
