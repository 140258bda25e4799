using System.Net;
using Microsoft.Extensions.DependencyInjection;
using RealtimeAgents.Contracts;
using RealtimeAgents.Core;
using RealtimeAgents.Testing;
using Xunit;

namespace RealtimeAgents.Http.Tests;

/// <summary>The log keeps <see cref="TinyLogServerFixture.MaxLength"/> events per task, so older cursors are not covered.</summary>
public sealed class StaleCursorTests(TinyLogServerFixture server) : IClassFixture<TinyLogServerFixture>
{
    private async Task<(string TaskId, EventStreamInfo Info)> CompletedTrimmedTaskAsync()
    {
        var task = await server.SubmitAsync(HttpServerFixture.Demo(HttpServerFixture.DemoOptions(tokens: 20, toolCalls: 0, reasoning: false)));
        var log = server.Services.GetRequiredService<IEventLog>();
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            var info = await log.GetInfoAsync(task.TaskId).DefaultTimeout();
            if (info is { Terminal: true }) return (task.TaskId, info);
            Assert.True(DateTime.UtcNow < deadline, "the task did not finish");
            await Task.Delay(20);
        }
    }

    [Fact]
    public async Task ACursorWhoseEventsWereTrimmed_GetsStreamUnrecoverable_AndTheResponseCloses()
    {
        var (taskId, info) = await CompletedTrimmedTaskAsync();
        Assert.True(info.MaxDeletedId > info.Epoch, "the log trimmed events after the first");

        await using var sse = await server.OpenEventsAsync(taskId, lastEventId: info.Epoch.ToString());
        Assert.Equal(HttpStatusCode.OK, sse.Response.StatusCode);
        var frames = await sse.ReadToEndAsync();
        var frame = Assert.Single(frames, f => f.Comment is null);
        Assert.Equal("stream.unrecoverable", frame.Event);
        Assert.Null(frame.Id);
        Assert.Equal(taskId, frame.Json.GetProperty("taskId").GetString());
        Assert.False(string.IsNullOrEmpty(frame.Json.GetProperty("reason").GetString()));
        Assert.True(frame.Json.TryGetProperty("cursor", out _));
    }

    [Fact]
    public async Task StartingFromTheBeginningOfATrimmedStream_IsUnrecoverableToo_NeverASilentlyPartialReplay()
    {
        var (taskId, _) = await CompletedTrimmedTaskAsync();
        await using var sse = await server.OpenEventsAsync(taskId);
        var frames = await sse.ReadToEndAsync();
        Assert.Equal(["stream.unrecoverable"], frames.Where(f => f.Comment is null).Select(f => f.Event));
    }

    [Fact]
    public async Task ACursorStillCovered_ResumesNormally()
    {
        var (taskId, info) = await CompletedTrimmedTaskAsync();
        var retained = await server.Services.GetRequiredService<IEventLog>().ReadAsync(taskId, StreamId.Zero, 100).DefaultTimeout();
        await using var sse = await server.OpenEventsAsync(taskId, lastEventId: retained[0].IdText);
        var events = (await sse.ReadToEndAsync()).Events();
        Assert.Equal(retained.Skip(1).Select(e => e.Seq), events.Select(e => e.Seq));
        Assert.Equal(EventKinds.TaskCompleted, events[^1].Kind);
        Assert.Equal(info.LastId.ToString(), events[^1].Id);
    }
}
