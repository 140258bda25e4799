using System.Net;
using Microsoft.Extensions.DependencyInjection;
using RealtimeAgents.Contracts;
using RealtimeAgents.Core;
using RealtimeAgents.Testing;
using Xunit;

namespace RealtimeAgents.Http.Tests;

/// <summary>What a reader is told about a finished task, and how error bodies read in curl.</summary>
public sealed class FinishedStreamTests(HttpServerFixture server) : IClassFixture<HttpServerFixture>
{
    private async Task<List<AgentEvent>> FinishedTaskAsync()
    {
        var task = await server.SubmitAsync(HttpServerFixture.Demo(HttpServerFixture.DemoOptions(tokens: 5, toolCalls: 0, reasoning: false)));
        await using var full = await server.OpenEventsAsync(task.TaskId);
        return (await full.ReadToEndAsync()).Events();
    }

    [Fact]
    public async Task LiveOnlyCursor_OnAFinishedTask_GetsTheTerminalEvent_AndTheStreamEndsAtOnce()
    {
        var all = await FinishedTaskAsync();
        await using var live = await server.OpenEventsAsync(all[0].TaskId, cursorQuery: "$");
        var frames = (await live.ReadToEndAsync(timeoutMs: 5_000)).Where(f => f.Comment is null).ToList();
        Assert.Equal(["stream.open", EventKinds.TaskCompleted], frames.Select(f => f.Event));
        Assert.Equal("completed", frames[0].Json.GetProperty("status").GetString());
        Assert.Equal(all[^1].Seq, frames[1].AsAgentEvent().Seq);
    }

    [Fact]
    public async Task ACursorBeyondTheEnd_IsToldSo_NotThatItsEventsExpired()
    {
        var all = await FinishedTaskAsync();
        var last = StreamId.Parse(all[^1].Id);
        await using var sse = await server.OpenEventsAsync(all[0].TaskId, cursorQuery: $"{last.Ms + 60_000}-0");
        var frame = Assert.Single(await sse.ReadToEndAsync(), f => f.Comment is null);
        Assert.Equal("stream.unrecoverable", frame.Event);
        string reason = frame.Json.GetProperty("reason").GetString()!;
        Assert.Contains("beyond the end", reason, StringComparison.Ordinal);
        Assert.DoesNotContain("no longer retained", reason, StringComparison.Ordinal);
        Assert.DoesNotContain("\\u0027", frame.Data, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ProblemBodies_WriteQuotesAndApostrophesAsThemselves()
    {
        var all = await FinishedTaskAsync();
        using var response = await server.Http.GetAsync($"/tasks/{all[0].TaskId}/events?cursor=bogus").DefaultTimeout();
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        string body = await response.Content.ReadAsStringAsync().DefaultTimeout();
        Assert.Contains("\\\"0-0\\\"", body, StringComparison.Ordinal); // a JSON-escaped quote, as JSON requires
        Assert.DoesNotContain("\\u0022", body, StringComparison.Ordinal);

        using var missing = await server.Http.GetAsync("/tasks/t_doesnotexist").DefaultTimeout();
        string notFound = await missing.Content.ReadAsStringAsync().DefaultTimeout();
        Assert.Contains("'", notFound, StringComparison.Ordinal);
        Assert.DoesNotContain("\\u0027", notFound, StringComparison.Ordinal);
    }
}
