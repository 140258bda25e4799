using System.Net;
using RealtimeAgents.Conformance;
using RealtimeAgents.Contracts;
using RealtimeAgents.Testing;
using Xunit;

namespace RealtimeAgents.Http.Tests;

public sealed class SseStreamingTests(HttpServerFixture server) : IClassFixture<HttpServerFixture>
{
    [Fact]
    public async Task TheWholeStream_ArrivesInOrder_AsIdEventDataFrames_AndEndsAfterTheTerminalEvent()
    {
        var task = await server.SubmitAsync(HttpServerFixture.Demo());
        await using var sse = await server.OpenEventsAsync(task.TaskId);
        Assert.Equal(HttpStatusCode.OK, sse.Response.StatusCode);
        Assert.Equal("text/event-stream", sse.Response.Content.Headers.ContentType!.MediaType);
        Assert.Contains("no-cache", sse.Response.Headers.CacheControl!.ToString(), StringComparison.Ordinal);

        var frames = await sse.ReadToEndAsync();
        var open = frames[0];
        Assert.Equal("stream.open", open.Event);
        Assert.True(open.Json.GetProperty("recovered").GetBoolean());
        var events = frames.Events();
        StreamAssert.CompleteTask(events);
        foreach (var f in frames.Where(f => f.Id is not null))
        {
            var ev = f.AsAgentEvent();
            Assert.Equal(ev.Id, f.Id);
            Assert.Equal(ev.Kind, f.Event);
            Assert.Equal(task.TaskId, ev.TaskId);
        }
        Assert.Equal(EventKinds.TaskCompleted, events[^1].Kind);
        Assert.Equal(20, events.Count(e => e.Kind == EventKinds.TextDelta));
        Assert.Equal(StreamAssert.Text(events), events[^1].DataAs<TaskCompletedData>().Output);
    }

    [Fact]
    public async Task DroppingTheConnectionMidStream_AndResumingWithLastEventId_DeliversExactlyTheRemainder()
    {
        var task = await server.SubmitAsync(HttpServerFixture.Demo(HttpServerFixture.DemoOptions(tokens: 60, tokenIntervalMs: 10, toolDelayMs: 5)));
        List<SseFrame> head;
        using (var client = server.NewClient())
        {
            await using var first = await server.OpenEventsAsync(task.TaskId, client: client);
            head = await first.ReadUntilAsync(f => f.Event == EventKinds.TextDelta && f.AsAgentEvent().Seq >= 20);
        } // the response and its connection are gone here, mid-stream

        await using var resumed = await server.OpenEventsAsync(task.TaskId, lastEventId: head[^1].Id);
        var rest = await resumed.ReadToEndAsync();
        Assert.True(rest[0].Json.GetProperty("recovered").GetBoolean());
        Assert.Equal(head[^1].Id, rest[0].Json.GetProperty("cursor").GetString());
        var all = head.Events().Concat(rest.Events()).ToList();
        StreamAssert.CompleteTask(all);
        Assert.Equal(60, all.Count(e => e.Kind == EventKinds.TextDelta));
    }

    [Fact]
    public async Task ACursorQueryParameter_ResumesLikeLastEventId()
    {
        var task = await server.SubmitAsync(HttpServerFixture.Demo());
        await using var full = await server.OpenEventsAsync(task.TaskId);
        var all = (await full.ReadToEndAsync()).Events();
        var cut = all[all.Count / 2];

        await using var resumed = await server.OpenEventsAsync(task.TaskId, cursorQuery: cut.Id);
        var rest = (await resumed.ReadToEndAsync()).Events();
        Assert.Equal(all.SkipWhile(e => e.Seq <= cut.Seq).Select(e => (e.Seq, e.Id)), rest.Select(e => (e.Seq, e.Id)));
    }

    [Fact]
    public async Task LastEventIdWins_OverTheCursorInTheUrl_AsAnEventSourceReconnectSendsBoth()
    {
        var task = await server.SubmitAsync(HttpServerFixture.Demo());
        await using var full = await server.OpenEventsAsync(task.TaskId);
        var all = (await full.ReadToEndAsync()).Events();

        await using var resumed = await server.OpenEventsAsync(task.TaskId, lastEventId: all[^3].Id, cursorQuery: all[1].Id);
        var rest = (await resumed.ReadToEndAsync()).Events();
        Assert.Equal(all.TakeLast(2).Select(e => e.Seq), rest.Select(e => e.Seq));
    }

    [Fact]
    public async Task ResumingAfterTheTerminalEvent_Answers204_SoEventSourceStopsReconnecting()
    {
        var task = await server.SubmitAsync(HttpServerFixture.Demo());
        await using var full = await server.OpenEventsAsync(task.TaskId);
        var all = (await full.ReadToEndAsync()).Events();

        await using var again = await server.OpenEventsAsync(task.TaskId, lastEventId: all[^1].Id);
        Assert.Equal(HttpStatusCode.NoContent, again.Response.StatusCode);
    }

    [Fact]
    public async Task WhileTheAgentIsSilent_KeepAliveCommentsArrive_AndTheStreamStillCompletes()
    {
        int silenceMs = HttpServerFixture.KeepAliveMs * 5;
        var task = await server.SubmitAsync(HttpServerFixture.Demo(HttpServerFixture.DemoOptions(tokens: 3, firstTokenDelayMs: silenceMs, toolCalls: 0, reasoning: false)));
        await using var sse = await server.OpenEventsAsync(task.TaskId);
        var frames = await sse.ReadToEndAsync();
        var keepAlives = frames.Where(f => f.Comment == "keep-alive").ToList();
        Assert.True(keepAlives.Count >= 2, $"{keepAlives.Count} keep-alive comments in {silenceMs} ms of silence (interval {HttpServerFixture.KeepAliveMs} ms)");
        // They fall in the silence: between the "thinking" status and the first token.
        int firstKeepAlive = frames.IndexOf(keepAlives[0]);
        int firstToken = frames.FindIndex(f => f.Event == EventKinds.TextDelta);
        Assert.True(firstKeepAlive < firstToken);
        StreamAssert.CompleteTask(frames.Events());
    }

    [Fact]
    public async Task LiveOnlyCursor_StartsAtTheNextEvent()
    {
        var task = await server.SubmitAsync(HttpServerFixture.Demo(HttpServerFixture.DemoOptions(tokens: 30, tokenIntervalMs: 20, toolCalls: 0)));
        await using var full = await server.OpenEventsAsync(task.TaskId);
        var head = await full.ReadUntilAsync(f => f.Event == EventKinds.TextDelta);
        await using var live = await server.OpenEventsAsync(task.TaskId, cursorQuery: Cursors.Live);
        var tail = (await live.ReadToEndAsync()).Events();
        Assert.True(tail[0].Seq > head.Events()[^1].Seq);
        StreamAssert.Contiguous(tail, tail[0].Seq);
        Assert.Equal(EventKinds.TaskCompleted, tail[^1].Kind);
    }

    [Fact]
    public async Task AClientThatDisconnects_ReleasesItsServerSideSubscriptionAtOnce()
    {
        var task = await server.SubmitAsync(HttpServerFixture.Demo(HttpServerFixture.DemoOptions(tokens: 3, firstTokenDelayMs: 60_000, toolCalls: 0, reasoning: false)));
        await server.WaitForActiveStreamsAsync(0);
        var readers = new List<(HttpClient Client, SseReader Reader)>();
        for (int i = 0; i < 3; i++)
        {
            var client = server.NewClient();
            var reader = await server.OpenEventsAsync(task.TaskId, client: client);
            await reader.ReadUntilAsync(f => f.Event == "stream.open");
            readers.Add((client, reader));
        }
        await server.WaitForActiveStreamsAsync(3);

        // Nothing is written while the agent waits, so only the disconnect itself can end these.
        foreach (var (client, reader) in readers)
        {
            await reader.DisposeAsync();
            client.Dispose();
        }
        await server.WaitForActiveStreamsAsync(0, timeoutMs: 2_000);

        using var interrupt = await server.Http.PostAsync($"/tasks/{task.TaskId}/interrupt", null).DefaultTimeout();
        Assert.Equal(HttpStatusCode.Accepted, interrupt.StatusCode);
    }
}
