using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Microsoft.AspNetCore.SignalR.Client;
using RealtimeAgents.Contracts;
using RealtimeAgents.Server.Http;
using RealtimeAgents.Testing;
using Xunit;

namespace RealtimeAgents.Auth.Tests;

/// <summary>Each limit trips with limit_exceeded (HTTP 429 or 413), and only for the user who reached it.</summary>
public sealed class LimitTests
{
    private static string NewUser() => "user-" + Guid.NewGuid().ToString("N")[..8];

    private static void AssertLimit(string error) => Assert.StartsWith("limit_exceeded: ", error, StringComparison.Ordinal);

    private static async Task AssertProblemAsync(HttpResponseMessage response, int status)
    {
        var (actual, problem) = await AuthServer.ProblemAsync(response);
        Assert.Equal(status, actual);
        Assert.Equal("limit_exceeded", problem.GetProperty("code").GetString());
        // Every 429 says when to come back, in whole seconds.
        if (status == 429) Assert.True(response.Headers.RetryAfter?.Delta is { TotalSeconds: >= 1 }, $"429 without a Retry-After: {response.Headers}");
        else Assert.Null(response.Headers.RetryAfter);
    }

    [Fact]
    public async Task SubmitsPerMinute_AreCountedPerUser_AcrossTheHubAndHttp()
    {
        await using var server = await AuthServer.StartAsync("--RealtimeAgents:Limits:SubmitsPerMinute=3");
        string aliceToken = Tokens.For(NewUser());
        var alice = await server.ConnectAsync(aliceToken);
        for (int i = 0; i < 2; i++) await alice.SubmitAsync(AuthServer.Demo()).DefaultTimeout();
        using var http = server.Http(aliceToken);
        using (var third = await http.PostAsync("/tasks", AuthServer.Json(AuthServer.Demo())).DefaultTimeout())
        {
            Assert.Equal(HttpStatusCode.Created, third.StatusCode);
        }

        string error = await AuthServer.HubErrorAsync(() => alice.SubmitAsync(AuthServer.Demo()));
        AssertLimit(error);
        Assert.Contains("3 tasks in the last minute", error, StringComparison.Ordinal);
        using (var refused = await http.PostAsync("/tasks", AuthServer.Json(AuthServer.Demo())).DefaultTimeout()) await AssertProblemAsync(refused, 429);

        var bob = await server.ConnectAsync(Tokens.For(NewUser()));
        await bob.SubmitAsync(AuthServer.Demo()).DefaultTimeout();
    }

    [Fact]
    public async Task ActiveTasksPerUser_AreBounded_UntilOneEnds()
    {
        await using var server = await AuthServer.StartAsync("--RealtimeAgents:Tasks:MaxActiveTasksPerUser=2");
        string aliceToken = Tokens.For(NewUser());
        var alice = await server.ConnectAsync(aliceToken);
        var first = await alice.SubmitAsync(AuthServer.Slow()).DefaultTimeout();
        var second = await alice.SubmitAsync(AuthServer.Slow()).DefaultTimeout();

        AssertLimit(await AuthServer.HubErrorAsync(() => alice.SubmitAsync(AuthServer.Slow())));
        AssertLimit(await AuthServer.HubErrorAsync(() => alice.SendMessageAsync(first.ThreadId, "and another", MessagePolicies.Enqueue)));
        using var http = server.Http(aliceToken);
        using (var refused = await http.PostAsync("/tasks", AuthServer.Json(AuthServer.Slow())).DefaultTimeout()) await AssertProblemAsync(refused, 429);

        var bob = await server.ConnectAsync(Tokens.For(NewUser()));
        var bobs = await bob.SubmitAsync(AuthServer.Demo()).DefaultTimeout();

        var sub = await alice.SubscribeAsync(first.TaskId).DefaultTimeout();
        await alice.InterruptAsync(first.TaskId).DefaultTimeout();
        using (var cts = new CancellationTokenSource(15_000))
        {
            await foreach (var _ in sub.ReadEventsAsync(cts.Token)) { }
        }
        var third = await alice.SubmitAsync(AuthServer.Demo()).DefaultTimeout();
        Assert.NotEqual(bobs.TaskId, third.TaskId);
        await alice.InterruptAsync(second.TaskId).DefaultTimeout();
    }

    [Fact]
    public async Task ThreadsPerUser_AreBounded_ButAnExistingThreadCanGoOn()
    {
        await using var server = await AuthServer.StartAsync("--RealtimeAgents:Tasks:MaxThreadsPerUser=2");
        var alice = await server.ConnectAsync(Tokens.For(NewUser()));
        var first = await alice.SubmitAsync(AuthServer.Demo()).DefaultTimeout();
        await alice.SubmitAsync(AuthServer.Demo()).DefaultTimeout();
        string error = await AuthServer.HubErrorAsync(() => alice.SubmitAsync(AuthServer.Demo()));
        AssertLimit(error);
        Assert.Contains("2 threads", error, StringComparison.Ordinal);
        var more = await alice.SubmitAsync(AuthServer.Demo(threadId: first.ThreadId)).DefaultTimeout();
        Assert.Equal(first.ThreadId, more.ThreadId);

        var bob = await server.ConnectAsync(Tokens.For(NewUser()));
        await bob.SubmitAsync(AuthServer.Demo()).DefaultTimeout();
    }

    [Fact]
    public async Task SubscriptionsPerConnection_AreBounded_AndFreedByUnsubscribe()
    {
        await using var server = await AuthServer.StartAsync("--RealtimeAgents:Limits:MaxSubscriptionsPerConnection=2");
        var alice = await server.ConnectAsync(Tokens.For(NewUser()));
        var tasks = new List<SubmitTaskResult>();
        for (int i = 0; i < 3; i++) tasks.Add(await alice.SubmitAsync(AuthServer.Slow()).DefaultTimeout());
        await alice.Connection.InvokeAsync<SubscribeResult>(HubMethods.Subscribe, tasks[0].TaskId, "$").DefaultTimeout();
        await alice.Connection.InvokeAsync<SubscribeResult>(HubMethods.Subscribe, tasks[1].TaskId, "$").DefaultTimeout();
        // Subscribing again to a task replaces the subscription: it needs no new room.
        await alice.Connection.InvokeAsync<SubscribeResult>(HubMethods.Subscribe, tasks[1].TaskId, "$").DefaultTimeout();
        string error = await AuthServer.HubErrorAsync(() => alice.Connection.InvokeAsync<SubscribeResult>(HubMethods.Subscribe, tasks[2].TaskId, "$"));
        AssertLimit(error);
        Assert.Contains("2 subscriptions", error, StringComparison.Ordinal);

        // Another connection, of the same user or another, has room of its own.
        var bob = await server.ConnectAsync(Tokens.For(NewUser()));
        var bobs = await bob.SubmitAsync(AuthServer.Demo()).DefaultTimeout();
        await bob.Connection.InvokeAsync<SubscribeResult>(HubMethods.Subscribe, bobs.TaskId, null).DefaultTimeout();

        await alice.Connection.InvokeAsync(HubMethods.Unsubscribe, tasks[0].TaskId).DefaultTimeout();
        await alice.Connection.InvokeAsync<SubscribeResult>(HubMethods.Subscribe, tasks[2].TaskId, "$").DefaultTimeout();
        foreach (var t in tasks) await alice.InterruptAsync(t.TaskId).DefaultTimeout();
    }

    [Fact]
    public async Task EventStreamsPerUser_AreBounded_AndFreedWhenAStreamCloses()
    {
        await using var server = await AuthServer.StartAsync("--RealtimeAgents:Limits:MaxEventStreamsPerUser=2");
        string aliceToken = Tokens.For(NewUser());
        var alice = await server.ConnectAsync(aliceToken);
        var task = await alice.SubmitAsync(AuthServer.Slow()).DefaultTimeout();
        using var http = server.Http(aliceToken);

        async Task<HttpResponseMessage> OpenAsync(HttpClient client)
        {
            var request = new HttpRequestMessage(HttpMethod.Get, $"/tasks/{task.TaskId}/events");
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
            return await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead).DefaultTimeout();
        }

        var one = await OpenAsync(http);
        using var two = await OpenAsync(http);
        Assert.Equal(HttpStatusCode.OK, one.StatusCode);
        Assert.Equal(HttpStatusCode.OK, two.StatusCode);
        using (var third = await OpenAsync(http)) await AssertProblemAsync(third, 429);

        // Bob is not affected.
        using var bobHttp = server.Http(Tokens.For(NewUser()));
        using (var created = await bobHttp.PostAsync("/tasks", AuthServer.Json(AuthServer.Demo())).DefaultTimeout())
        {
            var bobs = (await created.Content.ReadFromJsonAsync<TaskCreatedResponse>().DefaultTimeout())!;
            using var bobStream = await bobHttp.GetAsync($"/tasks/{bobs.TaskId}/events").DefaultTimeout();
            Assert.Equal(HttpStatusCode.OK, bobStream.StatusCode);
        }

        one.Dispose();
        await Eventually.TrueAsync(async () =>
        {
            using var again = await OpenAsync(http);
            return again.StatusCode == HttpStatusCode.OK;
        }, because: "the closed stream's slot was never given back");
        await alice.InterruptAsync(task.TaskId).DefaultTimeout();
    }

    [Fact]
    public async Task AnOversizedInput_IsRefused_OnTheHubAndWith413OverHttp()
    {
        await using var server = await AuthServer.StartAsync("--RealtimeAgents:Tasks:MaxInputBytes=1024");
        string token = Tokens.For(NewUser());
        var alice = await server.ConnectAsync(token);
        string big = new('x', 2000);
        string error = await AuthServer.HubErrorAsync(() => alice.SubmitAsync(AuthServer.Demo(input: big)));
        AssertLimit(error);
        using var http = server.Http(token);
        using (var refused = await http.PostAsync("/tasks", AuthServer.Json(AuthServer.Demo(input: big))).DefaultTimeout()) await AssertProblemAsync(refused, 413);
        await alice.SubmitAsync(AuthServer.Demo()).DefaultTimeout();
    }
}
