using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using RealtimeAgents.Core;
using RealtimeAgents.Core.InMemory;
using RealtimeAgents.Testing;
using Xunit;

namespace RealtimeAgents.Http.Tests;

/// <summary>Every refusal is RFC 9457 Problem Details with the right 4xx, and changes nothing.</summary>
public sealed class BadRequestTests(HttpServerFixture server) : IClassFixture<HttpServerFixture>
{
    private int Streams => ((InMemoryEventLog)server.Services.GetRequiredService<IEventLog>()).StreamCount;

    private async Task<JsonElement> AssertProblemAsync(HttpResponseMessage response, HttpStatusCode status, string code)
    {
        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
        string body = await response.Content.ReadAsStringAsync().DefaultTimeout();
        var problem = JsonDocument.Parse(body).RootElement;
        Assert.Equal((int)status, problem.GetProperty("status").GetInt32());
        Assert.Equal(code, problem.GetProperty("code").GetString());
        Assert.False(string.IsNullOrWhiteSpace(problem.GetProperty("title").GetString()));
        Assert.False(string.IsNullOrWhiteSpace(problem.GetProperty("detail").GetString()));
        Assert.DoesNotContain("   at ", body, StringComparison.Ordinal); // no stack trace
        return problem;
    }

    private Task<HttpResponseMessage> PostRawAsync(string path, string body) =>
        server.Http.PostAsync(path, new StringContent(body, Encoding.UTF8, "application/json")).DefaultTimeout();

    [Theory]
    [InlineData("{\"agent\":\"demo\",")]
    [InlineData("not json")]
    [InlineData("[1,2]")]
    [InlineData("{\"agent\":\"demo\"}")]
    [InlineData("{\"agent\":\"demo\",\"input\":42}")]
    public async Task MalformedJson_Is400_WithADetailSayingWhy_AndCreatesNothing(string body)
    {
        int before = Streams;
        using var response = await PostRawAsync("/tasks", body);
        var problem = await AssertProblemAsync(response, HttpStatusCode.BadRequest, "invalid_argument");
        Assert.Contains("JSON", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(before, Streams);
    }

    [Fact]
    public async Task AnEmptyBody_Is400()
    {
        using var response = await PostRawAsync("/tasks", "");
        await AssertProblemAsync(response, HttpStatusCode.BadRequest, "invalid_argument");
    }

    [Fact]
    public async Task AnUnknownAgent_Is400_NamingTheAvailableOnes_AndCreatesNothing()
    {
        int before = Streams;
        using var response = await PostRawAsync("/tasks", "{\"agent\":\"nobody\",\"input\":\"hi\"}");
        var problem = await AssertProblemAsync(response, HttpStatusCode.BadRequest, "invalid_argument");
        Assert.Contains("demo", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(before, Streams);
    }

    [Fact]
    public async Task AnOversizedBody_Is413_AndCreatesNothing()
    {
        int before = Streams;
        string huge = new('x', 200 * 1024);
        using var response = await PostRawAsync("/tasks", $"{{\"agent\":\"demo\",\"input\":\"{huge}\"}}");
        await AssertProblemAsync(response, HttpStatusCode.RequestEntityTooLarge, "limit_exceeded");
        Assert.Equal(before, Streams);
    }

    [Fact]
    public async Task AnInputOverTheTaskLimit_ButUnderTheBodyLimit_Is413_FromTheTaskService()
    {
        string big = new('x', 40 * 1024); // over Tasks:MaxInputBytes (32 KiB), under the body limit (80 KiB)
        using var response = await PostRawAsync("/tasks", $"{{\"agent\":\"demo\",\"input\":\"{big}\"}}");
        await AssertProblemAsync(response, HttpStatusCode.RequestEntityTooLarge, "limit_exceeded");
    }

    [Fact]
    public async Task AnOversizedAgUiBody_Is413()
    {
        string huge = new('x', 1100 * 1024);
        using var response = await PostRawAsync("/ag-ui", $"{{\"threadId\":\"a\",\"runId\":\"b\",\"messages\":[{{\"id\":\"m\",\"role\":\"user\",\"content\":\"{huge}\"}}]}}");
        await AssertProblemAsync(response, HttpStatusCode.RequestEntityTooLarge, "limit_exceeded");
    }

    [Theory]
    [InlineData("not-a-cursor")]
    [InlineData("12-x")]
    [InlineData("-5")]
    public async Task ABadCursor_Is400_BeforeAnyStreamStarts(string cursor)
    {
        var task = await server.SubmitAsync(HttpServerFixture.Demo());
        using var byQuery = await server.Http.GetAsync($"/tasks/{task.TaskId}/events?cursor={Uri.EscapeDataString(cursor)}").DefaultTimeout();
        await AssertProblemAsync(byQuery, HttpStatusCode.BadRequest, "invalid_argument");
        var request = new HttpRequestMessage(HttpMethod.Get, $"/tasks/{task.TaskId}/events");
        request.Headers.Add("Last-Event-ID", cursor);
        using var byHeader = await server.Http.SendAsync(request).DefaultTimeout();
        await AssertProblemAsync(byHeader, HttpStatusCode.BadRequest, "invalid_argument");
    }

    [Theory]
    [InlineData("GET", "/tasks/bad!id")]
    [InlineData("GET", "/tasks/bad!id/events")]
    [InlineData("POST", "/tasks/bad!id/interrupt")]
    [InlineData("POST", "/threads/bad!id/messages")]
    public async Task AMalformedId_Is400(string method, string path)
    {
        var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (method == "POST") request.Content = HttpServerFixture.Json(new { text = "hi" });
        using var response = await server.Http.SendAsync(request).DefaultTimeout();
        await AssertProblemAsync(response, HttpStatusCode.BadRequest, "invalid_argument");
    }

    [Theory]
    [InlineData("GET", "/tasks/t0123456789abcdef")]
    [InlineData("GET", "/tasks/t0123456789abcdef/events")]
    [InlineData("POST", "/tasks/t0123456789abcdef/interrupt")]
    [InlineData("POST", "/threads/th0123456789abcdef/messages")]
    public async Task AnUnknownId_Is404(string method, string path)
    {
        int before = Streams;
        var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (method == "POST") request.Content = HttpServerFixture.Json(new { text = "hi" });
        using var response = await server.Http.SendAsync(request).DefaultTimeout();
        await AssertProblemAsync(response, HttpStatusCode.NotFound, "not_found");
        Assert.Equal(before, Streams);
    }

    [Fact]
    public async Task AnUnknownPolicy_Is400()
    {
        var task = await server.SubmitAsync(HttpServerFixture.Demo());
        using var response = await server.Http.PostAsync($"/threads/{task.ThreadId}/messages", HttpServerFixture.Json(new { text = "hi", policy = "shout" })).DefaultTimeout();
        await AssertProblemAsync(response, HttpStatusCode.BadRequest, "invalid_argument");
    }

    [Fact]
    public async Task AnIdempotencyKeyHeaderThatContradictsTheBody_Is400()
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/tasks")
        {
            Content = HttpServerFixture.Json(HttpServerFixture.Demo() with { IdempotencyKey = "one" }),
        };
        request.Headers.Add("Idempotency-Key", "two");
        using var response = await server.Http.SendAsync(request).DefaultTimeout();
        await AssertProblemAsync(response, HttpStatusCode.BadRequest, "invalid_argument");
    }

    [Theory]
    [InlineData("{\"runId\":\"r\",\"messages\":[]}")]
    [InlineData("{\"threadId\":\"t\",\"runId\":\"r\",\"messages\":[]}")]
    [InlineData("{\"threadId\":\"t\",\"runId\":\"r\",\"messages\":[{\"id\":\"a\",\"role\":\"assistant\",\"content\":\"hi\"}]}")]
    [InlineData("{\"threadId\":\"t\",\"runId\":\"r\"}")]
    [InlineData("[]")]
    public async Task AnAgUiInputWithoutThreadRunOrUserMessage_Is400_AndCreatesNothing(string body)
    {
        int before = Streams;
        using var response = await PostRawAsync("/ag-ui", body);
        await AssertProblemAsync(response, HttpStatusCode.BadRequest, "invalid_argument");
        Assert.Equal(before, Streams);
    }

    [Fact]
    public async Task AnUnknownAgUiAgent_Is400()
    {
        using var response = await PostRawAsync("/ag-ui/nobody", "{\"threadId\":\"t\",\"runId\":\"r\",\"messages\":[{\"id\":\"a\",\"role\":\"user\",\"content\":\"hi\"}]}");
        await AssertProblemAsync(response, HttpStatusCode.BadRequest, "invalid_argument");
    }

    [Fact]
    public async Task TheOpenApiDescription_IsServed_AsJson_NamingEveryEndpoint()
    {
        string json = await server.Http.GetStringAsync(RealtimeAgents.Server.HttpSurfaceExtensions.OpenApiPath).DefaultTimeout();
        var doc = JsonDocument.Parse(json).RootElement;
        Assert.StartsWith("3.", doc.GetProperty("openapi").GetString(), StringComparison.Ordinal);
        var paths = doc.GetProperty("paths");
        foreach (string p in new[] { "/tasks", "/tasks/{id}", "/tasks/{id}/events", "/tasks/{id}/interrupt", "/threads/{id}/messages", "/ag-ui", "/ag-ui/{agent}" })
        {
            Assert.True(paths.TryGetProperty(p, out _), $"{p} is missing from the OpenAPI description");
        }
    }

    [Fact]
    public async Task AnUnknownPath_Is404_InProblemDetails_NamingTheRequest()
    {
        using var response = await server.Http.GetAsync("/no/such/thing").DefaultTimeout();
        var problem = await AssertProblemAsync(response, HttpStatusCode.NotFound, "not_found");
        Assert.Equal("Nothing answers GET /no/such/thing.", problem.GetProperty("detail").GetString());
        Assert.Equal("/no/such/thing", problem.GetProperty("instance").GetString());
    }

    [Fact]
    public async Task AMethodTheRouteDoesNotTake_Is405_InProblemDetails_WithTheAllowedMethods_AndCreatesNothing()
    {
        int before = Streams;
        using var response = await server.Http.PutAsync("/tasks", new StringContent("{\"agent\":\"demo\",\"input\":\"hi\"}", Encoding.UTF8, "application/json")).DefaultTimeout();
        var problem = await AssertProblemAsync(response, HttpStatusCode.MethodNotAllowed, "method_not_allowed");
        Assert.Contains("POST", response.Content.Headers.Allow);
        Assert.Equal("PUT is not allowed on /tasks; allowed: POST.", problem.GetProperty("detail").GetString());
        Assert.Equal(before, Streams);
    }
}
