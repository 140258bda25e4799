using System.Net.Http.Json;
using RealtimeAgents.Conformance;
using RealtimeAgents.Contracts;
using RealtimeAgents.Testing;
using Xunit;

namespace RealtimeAgents.Http.Tests;

public sealed class SlowReaderTests(SmallRetentionServerFixture server) : IClassFixture<SmallRetentionServerFixture>
{
    [Fact]
    public async Task AReaderThatStallsWhileItsEventsAreTrimmed_GetsStreamEnded_WithTheCursorOfItsLastEvent_NeverAGap()
    {
        // 100,000 tokens with no pause: far more than the socket buffers between server and
        // client hold, and a hundred times what the log keeps. They start once the reader is in.
        var task = await server.SubmitAsync(HttpServerFixture.Demo(HttpServerFixture.DemoOptions(tokens: 100_000, tokenIntervalMs: 0,
            firstTokenDelayMs: 1_000, toolCalls: 0, reasoning: false)));
        using var client = server.NewClient();
        await using var sse = await server.OpenEventsAsync(task.TaskId, client: client);
        var head = await sse.ReadUntilAsync(f => f.Event == "stream.open");

        // Do not read until the task has finished: the server's writes to this reader block meanwhile.
        await Eventually.TrueAsync(async () =>
            (await server.Http.GetFromJsonAsync<TaskInfo>($"/tasks/{task.TaskId}"))!.Status == TaskStates.Completed,
            30_000, "the task did not finish");

        var frames = head.Concat(await sse.ReadToEndAsync(timeoutMs: 60_000)).ToList();
        var events = frames.Events();
        StreamAssert.Contiguous(events);
        Assert.DoesNotContain(events, e => EventKinds.IsTerminal(e.Kind));
        var ended = frames[^1];
        Assert.Equal("stream.ended", ended.Event);
        Assert.Null(ended.Id);
        Assert.Equal("trimmed", ended.Json.GetProperty("reason").GetString());
        Assert.Equal(events[^1].Id, ended.Json.GetProperty("cursor").GetString());

        // Resuming from there is honest about the hole: the events after it are gone.
        await using var resumed = await server.OpenEventsAsync(task.TaskId, lastEventId: events[^1].Id);
        Assert.Equal(["stream.unrecoverable"], (await resumed.ReadToEndAsync()).Where(f => f.Comment is null).Select(f => f.Event));
    }
}
