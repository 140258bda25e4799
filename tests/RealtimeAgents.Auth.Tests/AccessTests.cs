using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using RealtimeAgents.Client;
using Microsoft.AspNetCore.SignalR.Client;
using RealtimeAgents.Contracts;
using RealtimeAgents.Server.Http;
using RealtimeAgents.Testing;
using Xunit;

namespace RealtimeAgents.Auth.Tests;

/// <summary>One server with authentication for the tests of a class.</summary>
public sealed class AuthServerFixture : IAsyncLifetime
{
    public AuthServer Server { get; private set; } = null!;
    public async Task InitializeAsync() => Server = await AuthServer.StartAsync();
    public async Task DisposeAsync() => await Server.DisposeAsync();
}

public sealed class AccessTests(AuthServerFixture fixture) : IClassFixture<AuthServerFixture>
{
    private AuthServer Server => fixture.Server;
    private static string NewUser() => "user-" + Guid.NewGuid().ToString("N")[..8];
    private static string RandomTaskId() => "t" + Guid.CreateVersion7().ToString("N");
    private static string RandomThreadId() => "th" + Guid.CreateVersion7().ToString("N");

    [Fact]
    public async Task AnotherUsersTask_IsNotFound_OverTheHub_ExactlyLikeATaskThatDoesNotExist()
    {
        var alice = await Server.ConnectAsync(Tokens.For(NewUser()));
        var bob = await Server.ConnectAsync(Tokens.For(NewUser()));
        var task = await alice.SubmitAsync(AuthServer.Slow()).DefaultTimeout();
        string missing = RandomTaskId(), missingThread = RandomThreadId();

        async Task Same(Func<string, Task> onTask, string theirs, string absent)
        {
            string refused = await AuthServer.HubErrorAsync(() => onTask(theirs));
            string notFound = await AuthServer.HubErrorAsync(() => onTask(absent));
            Assert.StartsWith("not_found: ", refused, StringComparison.Ordinal);
            Assert.Equal(notFound.Replace(absent, "ID", StringComparison.Ordinal), refused.Replace(theirs, "ID", StringComparison.Ordinal));
        }

        await Same(id => bob.Connection.InvokeAsync<TaskInfo>(HubMethods.GetTask, id), task.TaskId, missing);
        await Same(id => bob.Connection.InvokeAsync<SubscribeResult>(HubMethods.Subscribe, id, null), task.TaskId, missing);
        await Same(id => bob.Connection.InvokeAsync<SubscribeResult>(HubMethods.Subscribe, id, "$"), task.TaskId, missing);
        await Same(id => bob.Connection.InvokeAsync(HubMethods.Interrupt, id, "mine now"), task.TaskId, missing);
        await Same(id => bob.Connection.InvokeAsync<SendMessageResult>(HubMethods.SendMessage, id, "hijack", "inject"), task.ThreadId, missingThread);
        await Same(id => bob.Connection.InvokeAsync<ThreadInfo>(HubMethods.SubscribeThread, id), task.ThreadId, missingThread);
        Assert.StartsWith("not_found: ", await AuthServer.HubErrorAsync(() => bob.SubmitAsync(AuthServer.Demo(threadId: task.ThreadId))),
            StringComparison.Ordinal);

        // Nothing bob tried reached alice's task.
        var info = await alice.GetTaskAsync(task.TaskId).DefaultTimeout();
        Assert.False(TaskStates.IsTerminal(info.Status));
        var thread = await alice.Connection.InvokeAsync<ThreadInfo>(HubMethods.SubscribeThread, task.ThreadId).DefaultTimeout();
        Assert.Equal([task.TaskId], thread.Tasks.Select(t => t.TaskId));
        await alice.InterruptAsync(task.TaskId).DefaultTimeout();
    }

    [Fact]
    public async Task AnotherUsersTask_IsNotFound_OverRestSseAndAgUi_ExactlyLikeATaskThatDoesNotExist()
    {
        string aliceToken = Tokens.For(NewUser());
        using var alice = Server.Http(aliceToken);
        using var bob = Server.Http(Tokens.For(NewUser()));
        using var created = await alice.PostAsync("/tasks", AuthServer.Json(AuthServer.Slow())).DefaultTimeout();
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var task = (await created.Content.ReadFromJsonAsync<TaskCreatedResponse>().DefaultTimeout())!;
        string missing = RandomTaskId(), missingThread = RandomThreadId();

        async Task Same(Func<string, Task<HttpResponseMessage>> send, string theirs, string absent)
        {
            using var refused = await send(theirs).DefaultTimeout();
            using var notFound = await send(absent).DefaultTimeout();
            var (status, problem) = await AuthServer.ProblemAsync(refused);
            var (status2, problem2) = await AuthServer.ProblemAsync(notFound);
            Assert.Equal(404, status);
            Assert.Equal(status2, status);
            Assert.Equal("not_found", problem.GetProperty("code").GetString());
            Assert.Equal(problem2.ToString().Replace(absent, "ID", StringComparison.Ordinal), problem.ToString().Replace(theirs, "ID", StringComparison.Ordinal));
        }

        await Same(id => bob.GetAsync($"/tasks/{id}"), task.TaskId, missing);
        await Same(id => bob.GetAsync($"/tasks/{id}/events"), task.TaskId, missing);
        await Same(id => bob.GetAsync($"/tasks/{id}/events?cursor=%24"), task.TaskId, missing);
        await Same(id => bob.PostAsync($"/tasks/{id}/interrupt", AuthServer.Json(new { reason = "mine" })), task.TaskId, missing);
        await Same(id => bob.PostAsync($"/threads/{id}/messages", AuthServer.Json(new { text = "hijack", policy = "inject" })), task.ThreadId, missingThread);

        // AG-UI names the thread: alice's is not bob's to continue.
        var run = new
        {
            threadId = task.ThreadId, runId = Guid.NewGuid().ToString(), state = new { }, tools = Array.Empty<object>(), context = Array.Empty<object>(),
            messages = new[] { new { id = "m1", role = "user", content = "continue" } },
        };
        using var agUi = await bob.PostAsync("/ag-ui", AuthServer.Json(run)).DefaultTimeout();
        var (agStatus, agProblem) = await AuthServer.ProblemAsync(agUi);
        Assert.Equal(404, agStatus);
        Assert.Equal("not_found", agProblem.GetProperty("code").GetString());

        var info = await alice.GetFromJsonAsync<TaskInfo>($"/tasks/{task.TaskId}").DefaultTimeout();
        Assert.False(TaskStates.IsTerminal(info!.Status));
        using var stop = await alice.PostAsync($"/tasks/{task.TaskId}/interrupt", null).DefaultTimeout();
        Assert.Equal(HttpStatusCode.Accepted, stop.StatusCode);
    }

    [Fact]
    public async Task ATaskSharedForReading_IsReadableByTheGroup_ButCannotBeSteered_AndOtherGroupsCannotSeeIt()
    {
        var alice = await Server.ConnectAsync(Tokens.For(NewUser()));
        string readerToken = Tokens.For(NewUser(), ["reviewers"]);
        var reader = await Server.ConnectAsync(readerToken);
        var outsider = await Server.ConnectAsync(Tokens.For(NewUser(), ["sales"]));
        var task = await alice.SubmitAsync(AuthServer.Demo(tokens: 30, tokenIntervalMs: 20,
            share: [new TaskShare("reviewers", ShareAccess.Read)])).DefaultTimeout();

        Assert.Equal(task.TaskId, (await reader.GetTaskAsync(task.TaskId).DefaultTimeout()).TaskId);
        var sub = await reader.SubscribeAsync(task.TaskId).DefaultTimeout();

        string interrupt = await AuthServer.HubErrorAsync(() => reader.InterruptAsync(task.TaskId));
        Assert.StartsWith("permission_denied: ", interrupt, StringComparison.Ordinal);
        string message = await AuthServer.HubErrorAsync(() => reader.SendMessageAsync(task.ThreadId, "stop", MessagePolicies.Inject));
        Assert.StartsWith("permission_denied: ", message, StringComparison.Ordinal);
        Assert.StartsWith("not_found: ", await AuthServer.HubErrorAsync(() => outsider.GetTaskAsync(task.TaskId)), StringComparison.Ordinal);

        var events = new List<AgentEvent>();
        using (var cts = new CancellationTokenSource(15_000))
        {
            await foreach (var ev in sub.ReadEventsAsync(cts.Token)) events.Add(ev);
        }
        Assert.Equal(EventKinds.TaskCompleted, events[^1].Kind);
        Assert.Equal(Enumerable.Range(1, events.Count), events.Select(e => (int)e.Seq));

        // The owner's next task in the thread keeps the thread's shares.
        var followUp = await alice.SubmitAsync(AuthServer.Demo(threadId: task.ThreadId)).DefaultTimeout();
        Assert.Equal(followUp.TaskId, (await reader.GetTaskAsync(followUp.TaskId).DefaultTimeout()).TaskId);
        Assert.Equal(2, (await reader.Connection.InvokeAsync<ThreadInfo>(HubMethods.SubscribeThread, task.ThreadId).DefaultTimeout()).Tasks.Count);

        // The same read access over SSE, and the same refusal of steering over REST (403).
        using var http = Server.Http(readerToken);
        using var stream = await http.GetAsync($"/tasks/{task.TaskId}/events").DefaultTimeout();
        Assert.Equal(HttpStatusCode.OK, stream.StatusCode);
        Assert.Contains("task.completed", await stream.Content.ReadAsStringAsync().DefaultTimeout(), StringComparison.Ordinal);
        using var steer = await http.PostAsync($"/tasks/{task.TaskId}/interrupt", null).DefaultTimeout();
        var (status, problem) = await AuthServer.ProblemAsync(steer);
        Assert.Equal(403, status);
        Assert.Equal("permission_denied", problem.GetProperty("code").GetString());
    }

    [Fact]
    public async Task ATaskSharedForSteering_CanBeInterruptedAndMessagedByTheGroup_AndTheFollowUpStaysTheOwners()
    {
        var alice = await Server.ConnectAsync(Tokens.For(NewUser()));
        var ops = await Server.ConnectAsync(Tokens.For(NewUser(), ["ops", "other"]));
        var task = await alice.SubmitAsync(AuthServer.Slow(share: [new TaskShare("ops", ShareAccess.Steer)])).DefaultTimeout();

        var sent = await ops.SendMessageAsync(task.ThreadId, "Actually, go to Lisbon", MessagePolicies.Enqueue).DefaultTimeout();
        Assert.Equal("queued", sent.Outcome);
        await ops.InterruptAsync(task.TaskId, "ops stopped it").DefaultTimeout();
        var sub = await alice.SubscribeAsync(task.TaskId).DefaultTimeout();
        var events = new List<AgentEvent>();
        using (var cts = new CancellationTokenSource(15_000))
        {
            await foreach (var ev in sub.ReadEventsAsync(cts.Token)) events.Add(ev);
        }
        Assert.Equal(EventKinds.TaskCancelled, events[^1].Kind);

        // The follow-up belongs to alice and keeps the share: both see it.
        Assert.Equal(sent.TaskId, (await alice.GetTaskAsync(sent.TaskId).DefaultTimeout()).TaskId);
        Assert.Equal(sent.TaskId, (await ops.GetTaskAsync(sent.TaskId).DefaultTimeout()).TaskId);
        await alice.InterruptAsync(sent.TaskId).DefaultTimeout();
    }

    [Fact]
    public async Task AnApiKey_ActsAsItsUser_AndAWrongKeyIsRefusedWithProblemDetails()
    {
        using var service = Server.Http(apiKey: AuthServer.ApiKey);
        using var created = await service.PostAsync("/tasks", AuthServer.Json(AuthServer.Demo())).DefaultTimeout();
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var task = (await created.Content.ReadFromJsonAsync<TaskCreatedResponse>().DefaultTimeout())!;

        var asBilling = await Server.ConnectAsync(Tokens.For(AuthServer.ApiKeyUser));
        Assert.Equal(task.TaskId, (await asBilling.GetTaskAsync(task.TaskId).DefaultTimeout()).TaskId);
        var someoneElse = await Server.ConnectAsync(Tokens.For(NewUser()));
        Assert.StartsWith("not_found: ", await AuthServer.HubErrorAsync(() => someoneElse.GetTaskAsync(task.TaskId)), StringComparison.Ordinal);

        using var wrong = Server.Http(apiKey: AuthServer.ApiKey + "x");
        using var refused = await wrong.GetAsync($"/tasks/{task.TaskId}").DefaultTimeout();
        var (status, problem) = await AuthServer.ProblemAsync(refused);
        Assert.Equal(401, status);
        Assert.Equal("unauthenticated", problem.GetProperty("code").GetString());
        Assert.Equal("The API key is not valid.", problem.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task WithoutCredentials_TheHubAndEveryApiEndpointAnswer401_ButHealthStaysOpen()
    {
        using var anonymous = Server.Http();
        foreach (var (method, path) in new[] { ("POST", "/tasks"), ("GET", "/tasks/t1"), ("GET", "/tasks/t1/events"), ("POST", "/tasks/t1/interrupt"),
                     ("POST", "/threads/th1/messages"), ("POST", "/ag-ui"), ("POST", "/hubs/agents/negotiate?negotiateVersion=1") })
        {
            using var request = new HttpRequestMessage(new HttpMethod(method), path) { Content = method == "POST" ? AuthServer.Json(new { }) : null };
            using var response = await anonymous.SendAsync(request).DefaultTimeout();
            var (status, problem) = await AuthServer.ProblemAsync(response);
            Assert.Equal(401, status);
            Assert.Equal("unauthenticated", problem.GetProperty("code").GetString());
            Assert.Equal("Bearer", response.Headers.WwwAuthenticate.Single().Scheme);
        }
        await Assert.ThrowsAnyAsync<Exception>(() => RealtimeAgentsClient.ConnectAsync(Server.HubUrl, new RealtimeAgentsClientOptions { AutomaticReconnect = false })).DefaultTimeout();
        using var health = await anonymous.GetAsync("/healthz").DefaultTimeout();
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
    }
}
