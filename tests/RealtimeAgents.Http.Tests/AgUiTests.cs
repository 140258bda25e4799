using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using RealtimeAgents.Contracts;
using RealtimeAgents.Testing;
using Xunit;

namespace RealtimeAgents.Http.Tests;

/// <summary>
/// The AG-UI endpoint against the rules @ag-ui/client's verifier enforces (the Node suite in
/// clients/agui-tests runs the official client itself): RUN_STARTED first, no content for a block
/// that is not open, every message, reasoning span, tool call and step closed before the end,
/// exactly one RUN_FINISHED or RUN_ERROR and nothing after it.
/// </summary>
public sealed class AgUiTests(HttpServerFixture server) : IClassFixture<HttpServerFixture>
{
    private async Task<SseReader> RunAsync(object options, string text = "Plan a trip to Porto", string? path = "/ag-ui", string? runId = null, string? threadId = null)
    {
        var input = new
        {
            threadId = threadId ?? "th-" + Guid.NewGuid().ToString("N"),
            runId = runId ?? Guid.NewGuid().ToString(),
            messages = new object[] { new { id = "u1", role = "user", content = text } },
            tools = Array.Empty<object>(),
            context = Array.Empty<object>(),
            state = new { },
            forwardedProps = new { options },
        };
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = HttpServerFixture.Json(input) };
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        var response = await server.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead).DefaultTimeout();
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return new SseReader(response);
    }

    private static List<JsonElement> AgUiEvents(IEnumerable<SseFrame> frames) =>
        frames.Where(f => f.Data is not null).Select(f => f.Json).ToList();

    private static string Type(JsonElement e) => e.GetProperty("type").GetString()!;

    /// <summary>The verifier's rules, in one place.</summary>
    private static void AssertValidRun(List<JsonElement> events, string terminal)
    {
        Assert.Equal("RUN_STARTED", Type(events[0]));
        Assert.Equal(terminal, Type(events[^1]));
        Assert.Single(events, e => Type(e) is "RUN_FINISHED" or "RUN_ERROR");
        var text = new HashSet<string>();
        var reasoning = new HashSet<string>();
        var spans = new HashSet<string>();
        var tools = new HashSet<string>();
        var steps = new HashSet<string>();
        foreach (var e in events.Skip(1))
        {
            string type = Type(e);
            Assert.True(e.GetProperty("timestamp").TryGetInt64(out _), $"{type} has a non-integer timestamp");
            string Id(string p) => e.GetProperty(p).GetString()!;
            switch (type)
            {
                case "TEXT_MESSAGE_START": Assert.True(text.Add(Id("messageId")), $"{type} reopens {Id("messageId")}"); break;
                case "TEXT_MESSAGE_CONTENT": Assert.Contains(Id("messageId"), text); break;
                case "TEXT_MESSAGE_END": Assert.True(text.Remove(Id("messageId")), $"{type} of an unopened message"); break;
                case "REASONING_START": Assert.True(spans.Add(Id("messageId"))); break;
                case "REASONING_END": Assert.True(spans.Remove(Id("messageId"))); break;
                case "REASONING_MESSAGE_START": Assert.True(reasoning.Add(Id("messageId"))); Assert.Equal("reasoning", Id("role")); break;
                case "REASONING_MESSAGE_CONTENT": Assert.Contains(Id("messageId"), reasoning); break;
                case "REASONING_MESSAGE_END": Assert.True(reasoning.Remove(Id("messageId"))); break;
                case "TOOL_CALL_START": Assert.True(tools.Add(Id("toolCallId"))); Assert.False(string.IsNullOrEmpty(Id("toolCallName"))); break;
                case "TOOL_CALL_ARGS": Assert.Contains(Id("toolCallId"), tools); break;
                case "TOOL_CALL_END": Assert.True(tools.Remove(Id("toolCallId"))); break;
                case "TOOL_CALL_RESULT": Assert.IsType<string>(Id("content")); break;
                case "STEP_STARTED": Assert.True(steps.Add(Id("stepName")), $"step {Id("stepName")} started twice"); break;
                case "STEP_FINISHED": Assert.True(steps.Remove(Id("stepName")), $"step {Id("stepName")} finished but not started"); break;
                case "RUN_FINISHED" or "RUN_ERROR":
                    Assert.True(text.Count + reasoning.Count + spans.Count + tools.Count + steps.Count == 0,
                        $"{type} with blocks open: {string.Join(", ", text.Concat(reasoning).Concat(spans).Concat(tools).Concat(steps))}");
                    break;
                case "CUSTOM": break;
                default: Assert.Fail($"unexpected AG-UI event {type}"); break;
            }
        }
    }

    private static string AssistantText(List<JsonElement> events)
    {
        var assistant = events.Where(e => Type(e) == "TEXT_MESSAGE_START" && e.GetProperty("role").GetString() == "assistant")
            .Select(e => e.GetProperty("messageId").GetString()).ToHashSet();
        return string.Concat(events.Where(e => Type(e) == "TEXT_MESSAGE_CONTENT" && assistant.Contains(e.GetProperty("messageId").GetString()))
            .Select(e => e.GetProperty("delta").GetString()));
    }

    [Fact]
    public async Task AFullRun_WithReasoningAndTools_IsAValidAgUiRun_EndingInRunFinished_WithTheOutput()
    {
        string runId = Guid.NewGuid().ToString();
        await using var run = await RunAsync(HttpServerFixture.DemoOptions(tokens: 15), runId: runId);
        string taskId = run.Response.Headers.GetValues("X-Task-Id").Single();
        var events = AgUiEvents(await run.ReadToEndAsync());
        AssertValidRun(events, "RUN_FINISHED");
        Assert.Equal(runId, events[0].GetProperty("runId").GetString());
        Assert.Equal(taskId, events[0].GetProperty("metadata").GetProperty("taskId").GetString());
        Assert.Equal(runId, events[^1].GetProperty("runId").GetString());
        Assert.Equal(AssistantText(events), events[^1].GetProperty("result").GetString());
        Assert.Contains(events, e => Type(e) == "REASONING_MESSAGE_CONTENT");
        Assert.Equal(2, events.Count(e => Type(e) == "TOOL_CALL_RESULT"));
        Assert.Contains(events, e => Type(e) == "STEP_STARTED" && e.GetProperty("stepName").GetString() == "Searching flights");

        // The same text as the task's own event stream.
        await using var sse = await server.OpenEventsAsync(taskId);
        Assert.Equal(Conformance.StreamAssert.Text((await sse.ReadToEndAsync()).Events()), AssistantText(events));
    }

    [Fact]
    public async Task AFailingAgent_EndsInRunError_WithItsCode_AndEveryBlockClosed()
    {
        await using var run = await RunAsync(HttpServerFixture.DemoOptions(tokens: 20, failAfter: 5));
        var events = AgUiEvents(await run.ReadToEndAsync());
        AssertValidRun(events, "RUN_ERROR");
        Assert.Equal("agent_error", events[^1].GetProperty("code").GetString());
        Assert.Contains("on purpose", events[^1].GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnInterruptedRun_EndsInRunError_WithCodeAbort_AndEveryBlockClosed()
    {
        await using var run = await RunAsync(HttpServerFixture.DemoOptions(tokens: 500, tokenIntervalMs: 20, toolCalls: 1, reasoning: false));
        string taskId = run.Response.Headers.GetValues("X-Task-Id").Single();
        var head = await run.ReadUntilAsync(f => f.Data is not null && Type(f.Json) == "TEXT_MESSAGE_CONTENT");
        using var interrupt = await server.Http.PostAsync($"/tasks/{taskId}/interrupt", HttpServerFixture.Json(new { reason = "stop" })).DefaultTimeout();
        var events = AgUiEvents(head.Concat(await run.ReadToEndAsync()));
        AssertValidRun(events, "RUN_ERROR");
        Assert.Equal("abort", events[^1].GetProperty("code").GetString());
        Assert.Equal("stop", events[^1].GetProperty("message").GetString());
    }

    [Fact]
    public async Task AMessageInjectedMidRun_BecomesAUserTextMessage_AndTheRunStaysValid()
    {
        string threadId = "th-" + Guid.NewGuid().ToString("N");
        await using var run = await RunAsync(HttpServerFixture.DemoOptions(tokens: 60, tokenIntervalMs: 20, toolCalls: 0, reasoning: false), threadId: threadId);
        var head = await run.ReadUntilAsync(f => f.Data is not null && Type(f.Json) == "TEXT_MESSAGE_CONTENT");
        using var sent = await server.Http.PostAsync($"/threads/{threadId}/messages",
            HttpServerFixture.Json(new { text = "Make it Vienna instead", policy = MessagePolicies.Inject })).DefaultTimeout();
        Assert.Equal(HttpStatusCode.OK, sent.StatusCode);
        var events = AgUiEvents(head.Concat(await run.ReadToEndAsync()));
        AssertValidRun(events, "RUN_FINISHED");
        var user = Assert.Single(events, e => Type(e) == "TEXT_MESSAGE_START" && e.GetProperty("role").GetString() == "user");
        string userId = user.GetProperty("messageId").GetString()!;
        Assert.Equal("Make it Vienna instead", string.Concat(events
            .Where(e => Type(e) == "TEXT_MESSAGE_CONTENT" && e.GetProperty("messageId").GetString() == userId)
            .Select(e => e.GetProperty("delta").GetString())));
        Assert.Contains("Vienna", events[^1].GetProperty("result").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task PostingTheSameRunAgain_FollowsTheSameTask_InsteadOfStartingAnother()
    {
        string runId = Guid.NewGuid().ToString(), threadId = "th-" + Guid.NewGuid().ToString("N");
        await using var first = await RunAsync(HttpServerFixture.DemoOptions(tokens: 5), runId: runId, threadId: threadId);
        var a = AgUiEvents(await first.ReadToEndAsync());
        await using var second = await RunAsync(HttpServerFixture.DemoOptions(tokens: 5), runId: runId, threadId: threadId);
        Assert.Equal(first.Response.Headers.GetValues("X-Task-Id"), second.Response.Headers.GetValues("X-Task-Id"));
        var b = AgUiEvents(await second.ReadToEndAsync());
        AssertValidRun(b, "RUN_FINISHED");
        Assert.Equal(AssistantText(a), AssistantText(b));
    }

    [Fact]
    public async Task TheAgentInThePath_IsTheOneThatRuns()
    {
        await using var run = await RunAsync(HttpServerFixture.DemoOptions(tokens: 3), path: "/ag-ui/demo");
        AssertValidRun(AgUiEvents(await run.ReadToEndAsync()), "RUN_FINISHED");
    }
}
