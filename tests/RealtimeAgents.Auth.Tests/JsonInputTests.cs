using System.Net;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using RealtimeAgents.Contracts;
using RealtimeAgents.Server;
using RealtimeAgents.Testing;
using Xunit;

namespace RealtimeAgents.Auth.Tests;

/// <summary>
/// One depth limit on every way JSON comes in, refused in our words and never by closing the
/// connection; and no 4xx body that shows .NET type names or parser positions.
/// </summary>
public sealed class JsonInputTests(AuthServerFixture fixture) : IClassFixture<AuthServerFixture>
{
    private AuthServer Server => fixture.Server;

    private static string Nested(int depth) => new string('[', depth) + new string(']', depth);
    // 63 levels inside options, 132 bytes: under every size limit.
    private static string DeepOptions(int depth) => "{\"a\":" + Nested(depth - 1) + "}";

    [Fact]
    public async Task DeeplyNestedOptions_AreRefusedOnTheHub_AndTheConnectionAndItsSubscriptionGoOn()
    {
        var client = await Server.ConnectAsync(Tokens.For("deep-" + Guid.NewGuid().ToString("N")[..6]));
        var task = await client.SubmitAsync(AuthServer.Demo(tokens: 60, tokenIntervalMs: 20)).DefaultTimeout();
        var sub = await client.SubscribeAsync(task.TaskId).DefaultTimeout();
        foreach (int depth in new[] { 40, 63, 200 })
        {
            var request = AuthServer.Demo() with { Options = JsonDocument.Parse(DeepOptions(depth), new JsonDocumentOptions { MaxDepth = 1000 }).RootElement };
            var ex = await Assert.ThrowsAsync<HubException>(() => client.Connection.InvokeAsync<SubmitTaskResult>(HubMethods.SubmitTask, request))
                .DefaultTimeout();
            Assert.Contains($"HubException: invalid_argument: {JsonInput.TooDeepMessage}", ex.Message, StringComparison.Ordinal);
        }
        // At the limit it is accepted as far as depth goes (the demo agent then judges the options).
        var shallow = AuthServer.Demo();
        Assert.NotNull(await client.SubmitAsync(shallow).DefaultTimeout());
        var events = await sub.ReadAllAsync();
        Assert.Equal(EventKinds.TaskCompleted, events[^1].Kind);
        Assert.Equal(HubConnectionState.Connected, client.Connection.State);
    }

    [Fact]
    public async Task DeeplyNestedBodies_AreRefusedWith400_OnRestAndAgUi()
    {
        using var http = Server.Http(Tokens.For("deep-http"));
        string submit = "{\"agent\":\"demo\",\"input\":\"x\",\"options\":" + DeepOptions(63) + "}";
        string agui = "{\"threadId\":\"th1\",\"runId\":\"r1\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"state\":" + Nested(63) + "}";
        foreach (var (path, body) in new[] { ("/tasks", submit), ("/ag-ui", agui), ("/threads/th01/messages", "{\"text\":" + Nested(40) + "}") })
        {
            using var response = await http.PostAsync(path, new StringContent(body, Encoding.UTF8, "application/json")).DefaultTimeout();
            var (status, problem) = await AuthServer.ProblemAsync(response);
            Assert.Equal(400, status);
            Assert.Equal("invalid_argument", problem.GetProperty("code").GetString());
            Assert.Equal(JsonInput.TooDeepMessage, problem.GetProperty("detail").GetString());
        }
    }

    [Theory]
    [InlineData("/tasks", "[]")]
    [InlineData("/tasks", "{\"agent\":\"demo\",\"input\":\"x\",\"share\":\"everyone\"}")]
    [InlineData("/tasks", "{\"agent\":\"demo\",\"input\":\"x\",\"options\":{\"a\":1}, \"share\":[{\"group\":1}]}")]
    [InlineData("/tasks", "{\"agent\":\"demo\",\"input\":\"x\"")]
    [InlineData("/tasks", "{\"agent\":\"demo\",\"input\":\"x\",\"threadId\":7}")]
    [InlineData("/tasks", "{\"agent\":\"demo\",\"input\":\"x\u0001\"}")]
    [InlineData("/tasks", "{\"input\":\"x\"}")]
    [InlineData("/tasks/t1/interrupt", "{\"reason\":[1,2]}")]
    [InlineData("/threads/th1/messages", "{\"text\":{}}")]
    [InlineData("/ag-ui", "{\"threadId\":\"th1\",\"messages\":\"nope\"")]
    [InlineData("/ag-ui", "{\"threadId\":5,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}")]
    public async Task A4xxBody_IsInOurWords_WithNoTypeNamesOrParserPositions(string path, string body)
    {
        using var http = Server.Http(Tokens.For("shape-" + Guid.NewGuid().ToString("N")[..6]));
        using var response = await http.PostAsync(path, new StringContent(body, Encoding.UTF8, "application/json")).DefaultTimeout();
        Assert.InRange((int)response.StatusCode, 400, 499);
        string text = await response.Content.ReadAsStringAsync().DefaultTimeout();
        foreach (string internals in new[] { "System.", "RealtimeAgents.", "LineNumber", "BytePosition", "line ", "byte ", "Exception", "`1" })
        {
            Assert.DoesNotContain(internals, text, StringComparison.Ordinal);
        }
    }
}
