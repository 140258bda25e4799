using System.Net;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text;
using RealtimeAgents.Client;
using Microsoft.AspNetCore.SignalR.Client;
using RealtimeAgents.Contracts;
using RealtimeAgents.Server.Http;
using RealtimeAgents.Testing;
using Xunit;

namespace RealtimeAgents.Auth.Tests;

public sealed class TokenTests(AuthServerFixture fixture) : IClassFixture<AuthServerFixture>
{
    private AuthServer Server => fixture.Server;

    public static TheoryData<string, string> BadTokens()
    {
        long now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        return new()
        {
            { "expired", Tokens.For("alice", lifetime: TimeSpan.FromMinutes(-5)) },
            { "wrongly signed", Tokens.For("alice", key: "another key of the right length, 0123456789abcdef") },
            { "malformed", "not.a.token" },
            { "garbage", "eyJhbGciOiJIUzI1NiJ9." + new string('x', 40) + ".sig" },
            { "unsigned", Tokens.Sign(new() { ["sub"] = "alice", ["exp"] = now + 600 }, alg: "none") },
            { "without expiry", Tokens.Sign(new() { ["sub"] = "alice" }) },
            { "without a user", Tokens.Sign(new() { ["exp"] = now + 600 }) },
            { "tampered", Tampered(Tokens.For("alice")) },
        };
    }

    private static string Tampered(string token)
    {
        var parts = token.Split('.');
        parts[1] = Convert.ToBase64String(Encoding.UTF8.GetBytes("{\"sub\":\"root\",\"exp\":9999999999}")).TrimEnd('=');
        return string.Join('.', parts);
    }

    [Theory]
    [MemberData(nameof(BadTokens))]
    public async Task ABadToken_IsRefused_With401ProblemDetails_OnHttpAndOnTheHub(string what, string token)
    {
        using var http = Server.Http(token);
        using var response = await http.GetAsync("/tasks/t1").DefaultTimeout();
        var (status, problem) = await AuthServer.ProblemAsync(response);
        Assert.Equal(401, status);
        Assert.Equal("unauthenticated", problem.GetProperty("code").GetString());
        string detail = problem.GetProperty("detail").GetString()!;
        Assert.DoesNotContain("IDX", detail, StringComparison.Ordinal); // no library internals
        Assert.DoesNotContain(" at ", detail, StringComparison.Ordinal);
        if (what == "expired") Assert.Contains("expired", detail, StringComparison.Ordinal);
        if (what == "wrongly signed") Assert.Contains("signature", detail, StringComparison.Ordinal);

        using var negotiate = await http.PostAsync("/hubs/agents/negotiate?negotiateVersion=1", null).DefaultTimeout();
        Assert.Equal(HttpStatusCode.Unauthorized, negotiate.StatusCode);
        await Assert.ThrowsAnyAsync<Exception>(() => Server.ConnectAsync(token)).DefaultTimeout();
        using var socket = new ClientWebSocket();
        var ws = new Uri($"ws://{Server.BaseAddress.Authority}/hubs/agents?access_token={Uri.EscapeDataString(token)}");
        await Assert.ThrowsAsync<WebSocketException>(() => socket.ConnectAsync(ws, CancellationToken.None)).DefaultTimeout();
    }

    [Fact]
    public async Task TheQueryStringToken_IsAcceptedForWebSocketsAndEventStreams_ButNotForOtherRequests()
    {
        string token = Tokens.For("query-user");
        using var withHeader = Server.Http(token);
        using var created = await withHeader.PostAsync("/tasks", AuthServer.Json(AuthServer.Demo())).DefaultTimeout();
        var task = (await created.Content.ReadFromJsonAsync<TaskCreatedResponse>().DefaultTimeout())!;

        using var bare = Server.Http();
        string query = "access_token=" + Uri.EscapeDataString(token);
        using var stream = await bare.GetAsync($"/tasks/{task.TaskId}/events?{query}").DefaultTimeout();
        Assert.Equal(HttpStatusCode.OK, stream.StatusCode);
        Assert.Contains("task.completed", await stream.Content.ReadAsStringAsync().DefaultTimeout(), StringComparison.Ordinal);
        using var get = await bare.GetAsync($"/tasks/{task.TaskId}?{query}").DefaultTimeout();
        Assert.Equal(HttpStatusCode.Unauthorized, get.StatusCode);
        using var post = await bare.PostAsync($"/tasks?{query}", AuthServer.Json(AuthServer.Demo())).DefaultTimeout();
        Assert.Equal(HttpStatusCode.Unauthorized, post.StatusCode);

        // A browser's WebSocket: the token in the query, the SignalR handshake, then a call.
        using var socket = new ClientWebSocket();
        await socket.ConnectAsync(new Uri($"ws://{Server.BaseAddress.Authority}/hubs/agents?{query}"), CancellationToken.None).DefaultTimeout();
        await RawHub.SendAsync(socket, "{\"protocol\":\"json\",\"version\":1}\u001e");
        Assert.Equal("{}\u001e", await RawHub.ReceiveAsync(socket));
        await RawHub.SendAsync(socket, $"{{\"type\":1,\"invocationId\":\"1\",\"target\":\"GetTask\",\"arguments\":[\"{task.TaskId}\"]}}\u001e");
        string reply = await RawHub.ReceiveAsync(socket);
        Assert.Contains($"\"taskId\":\"{task.TaskId}\"", reply, StringComparison.Ordinal);
        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None).DefaultTimeout();
    }

    [Fact]
    public async Task ATokenThatExpiresWhileConnected_StopsNewOperations_WhileARunningSubscriptionFinishes()
    {
        string user = "short-lived-" + Guid.NewGuid().ToString("N")[..6];
        string token = Tokens.For(user, lifetime: TimeSpan.FromSeconds(3));
        var client = await Server.ConnectAsync(token);
        // Runs about 5 s: past the token's expiry.
        var task = await client.SubmitAsync(AuthServer.Demo(tokens: 100, tokenIntervalMs: 50)).DefaultTimeout();
        var sub = await client.SubscribeAsync(task.TaskId).DefaultTimeout();

        var expiry = Tokens.ExpiryOf(token);
        while (DateTimeOffset.UtcNow <= expiry.AddMilliseconds(200)) await Task.Delay(100);

        foreach (var call in new Func<Task>[]
                 {
                     () => client.GetTaskAsync(task.TaskId),
                     () => client.SubmitAsync(AuthServer.Demo()),
                     () => client.InterruptAsync(task.TaskId),
                     () => client.Connection.InvokeAsync<SubscribeResult>(HubMethods.Subscribe, task.TaskId, "$"),
                 })
        {
            string error = await AuthServer.HubErrorAsync(call);
            Assert.StartsWith("unauthenticated: ", error, StringComparison.Ordinal);
            Assert.Contains("token expired", error, StringComparison.Ordinal);
        }

        // Giving access up needs no valid token: a client can stop watching without disconnecting.
        await client.Connection.InvokeAsync(HubMethods.UnsubscribeThread, task.ThreadId).DefaultTimeout();
        await client.Connection.InvokeAsync(HubMethods.Unsubscribe, "t" + Guid.CreateVersion7().ToString("N")).DefaultTimeout();

        // The subscription that began while the token was valid runs to its end (see docs/security.md).
        var events = new List<AgentEvent>();
        using (var cts = new CancellationTokenSource(20_000))
        {
            await foreach (var ev in sub.ReadEventsAsync(cts.Token)) events.Add(ev);
        }
        Assert.Equal(EventKinds.TaskCompleted, events[^1].Kind);
        await Assert.ThrowsAnyAsync<Exception>(() => Server.ConnectAsync(token)).DefaultTimeout();
        await UnsubscribeAfterExpiry_StopsTheSubscriptionAsync(user);
        var renewed = await Server.ConnectAsync(Tokens.For(user));
        Assert.Equal(TaskStates.Completed, (await renewed.GetTaskAsync(task.TaskId).DefaultTimeout()).Status);
    }

    private async Task UnsubscribeAfterExpiry_StopsTheSubscriptionAsync(string user)
    {
        string token = Tokens.For(user, lifetime: TimeSpan.FromSeconds(2));
        var client = await Server.ConnectAsync(token);
        var task = await client.SubmitAsync(AuthServer.Slow()).DefaultTimeout();
        var sub = await client.SubscribeAsync(task.TaskId).DefaultTimeout();
        var expiry = Tokens.ExpiryOf(token);
        while (DateTimeOffset.UtcNow <= expiry.AddMilliseconds(200)) await Task.Delay(100);
        await client.Connection.InvokeAsync(HubMethods.Unsubscribe, task.TaskId).DefaultTimeout();
        // The pump stopped: the stream goes quiet although the task runs on.
        int before = 0, after = 0;
        await Task.Delay(300);
        using (var cts = new CancellationTokenSource(100)) try { await foreach (var _ in sub.ReadEventsAsync(cts.Token)) before++; } catch (OperationCanceledException) { }
        await Task.Delay(500);
        using (var cts = new CancellationTokenSource(100)) try { await foreach (var _ in sub.ReadEventsAsync(cts.Token)) after++; } catch (OperationCanceledException) { }
        Assert.Equal(0, after);
        var renewed = await Server.ConnectAsync(Tokens.For(user));
        await renewed.InterruptAsync(task.TaskId).DefaultTimeout();
    }
}

/// <summary>SignalR's JSON protocol spoken by hand over a WebSocket (each message ends with 0x1E).</summary>
internal static class RawHub
{
    public static Task SendAsync(ClientWebSocket socket, string text) =>
        socket.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, true, CancellationToken.None).DefaultTimeout();

    /// <summary>The next message that is not a ping.</summary>
    public static async Task<string> ReceiveAsync(ClientWebSocket socket, int timeoutMs = 10_000)
    {
        var buffer = new byte[64 * 1024];
        using var cts = new CancellationTokenSource(timeoutMs);
        while (true)
        {
            var text = new StringBuilder();
            WebSocketReceiveResult result;
            do
            {
                result = await socket.ReceiveAsync(buffer, cts.Token);
                if (result.MessageType == WebSocketMessageType.Close) return "";
                text.Append(Encoding.UTF8.GetString(buffer, 0, result.Count));
            } while (!result.EndOfMessage);
            string message = text.ToString();
            if (message != "{\"type\":6}\u001e") return message;
        }
    }
}
