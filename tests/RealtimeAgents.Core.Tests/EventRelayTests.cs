using RealtimeAgents.Conformance;
using RealtimeAgents.Contracts;
using RealtimeAgents.Core.Relay;
using RealtimeAgents.Testing;
using Xunit;

namespace RealtimeAgents.Core.Tests;

public sealed class EventRelayTests
{
    private static async Task<List<AgentEvent>> AppendMany(IEventLog log, string task, int from, int count, bool terminal = false)
    {
        var list = new List<AgentEvent>();
        for (int i = from; i < from + count; i++) list.Add(await RelayKit.AppendAsync(log, task, i).AsTask().DefaultTimeout());
        if (terminal) list.Add(await RelayKit.AppendAsync(log, task, from + count, EventKinds.TaskCompleted).AsTask().DefaultTimeout());
        return list;
    }

    private static async Task<List<AgentEvent>> UntilDone(RelaySubscription sub, CollectingSink sink, int timeoutMs = 10_000)
    {
        await sub.Completion.DefaultTimeout(timeoutMs);
        return sink.Snapshot();
    }

    [Fact]
    public async Task Subscribe_FromStart_ReplaysHistoryThenGoesLive_ThroughTheTerminalEvent()
    {
        var log = RelayKit.NewLog();
        string task = RelayKit.NewTaskId();
        var history = await AppendMany(log, task, 0, 10);
        var sink = new CollectingSink();
        var sub = await RelayKit.NewRelay(log).SubscribeAsync(task, Cursor.Start, sink).DefaultTimeout();
        Assert.True(sub.Recovered);
        Assert.Equal("0-0", sub.Cursor);
        var live = await AppendMany(log, task, 10, 10, terminal: true);
        var got = await UntilDone(sub, sink);
        Assert.Equal(history.Concat(live).Select(e => e.Id), got.Select(e => e.Id));
        StreamAssert.Contiguous(got);
        Assert.True(sub.CompletedWithTerminal);
    }

    [Fact]
    public async Task Subscribe_FromAnId_DeliversExactlyTheRemainder()
    {
        var log = RelayKit.NewLog();
        string task = RelayKit.NewTaskId();
        var all = await AppendMany(log, task, 0, 30, terminal: true);
        var sink = new CollectingSink();
        var sub = await RelayKit.NewRelay(log).SubscribeAsync(task, Cursor.AfterId(StreamId.Parse(all[11].Id)), sink).DefaultTimeout();
        Assert.True(sub.Recovered);
        Assert.Equal(all[11].Id, sub.Cursor);
        var got = await UntilDone(sub, sink);
        Assert.Equal(all.Skip(12).Select(e => e.Seq), got.Select(e => e.Seq));
    }

    [Fact]
    public async Task Subscribe_FromTheLastId_DeliversOnlyWhatComesNext()
    {
        var log = RelayKit.NewLog();
        string task = RelayKit.NewTaskId();
        var all = await AppendMany(log, task, 0, 3);
        var sink = new CollectingSink();
        await using var sub = await RelayKit.NewRelay(log).SubscribeAsync(task, Cursor.AfterId(StreamId.Parse(all[^1].Id)), sink).DefaultTimeout();
        Assert.True(sub.Recovered);
        var next = await AppendMany(log, task, 3, 1, terminal: true);
        var got = await UntilDone(sub, sink);
        Assert.Equal(next.Select(e => e.Seq), got.Select(e => e.Seq));
    }

    [Fact]
    public async Task Subscribe_Live_SkipsHistory()
    {
        var log = RelayKit.NewLog();
        string task = RelayKit.NewTaskId();
        await AppendMany(log, task, 0, 5);
        var sink = new CollectingSink();
        var sub = await RelayKit.NewRelay(log).SubscribeAsync(task, Cursor.Live, sink).DefaultTimeout();
        var live = await AppendMany(log, task, 5, 3, terminal: true);
        var got = await UntilDone(sub, sink);
        Assert.Equal(live.Select(e => e.Seq), got.Select(e => e.Seq));
    }

    [Fact]
    public async Task CursorOlderThanWhatIsRetained_IsNotRecovered_AndContinuesLiveFromTheEnd()
    {
        var log = RelayKit.NewLog(maxLength: 10);
        string task = RelayKit.NewTaskId();
        var all = await AppendMany(log, task, 0, 50);
        var sink = new CollectingSink();
        var sub = await RelayKit.NewRelay(log).SubscribeAsync(task, Cursor.AfterId(StreamId.Parse(all[5].Id)), sink).DefaultTimeout();
        Assert.False(sub.Recovered);
        Assert.Equal(all[^1].Id, sub.Cursor);
        var live = await AppendMany(log, task, 50, 2, terminal: true);
        var got = await UntilDone(sub, sink);
        Assert.Equal(live.Select(e => e.Seq), got.Select(e => e.Seq));

        var fromStart = await RelayKit.NewRelay(log).SubscribeAsync(task, Cursor.Start, new CollectingSink()).DefaultTimeout();
        Assert.False(fromStart.Recovered);
        await fromStart.DisposeAsync();
    }

    [Fact]
    public async Task CursorFromAnEarlierIncarnationOfTheStream_IsNotRecovered()
    {
        var log = RelayKit.NewLog(ttl: TimeSpan.FromMilliseconds(100));
        string task = RelayKit.NewTaskId();
        var old = await AppendMany(log, task, 0, 5, terminal: true);
        var deadline = DateTime.UtcNow.AddSeconds(5);
        while (await log.GetInfoAsync(task) is not null && DateTime.UtcNow < deadline) await Task.Delay(50);
        await Task.Delay(5); // the new incarnation's first id is on a later millisecond
        await AppendMany(log, task, 0, 3);
        var sub = await RelayKit.NewRelay(log).SubscribeAsync(task, Cursor.AfterId(StreamId.Parse(old[2].Id)), new CollectingSink()).DefaultTimeout();
        Assert.False(sub.Recovered);
        await sub.DisposeAsync();
    }

    [Fact]
    public async Task CursorBeyondTheEnd_IsNotRecovered()
    {
        var log = RelayKit.NewLog();
        string task = RelayKit.NewTaskId();
        var all = await AppendMany(log, task, 0, 3);
        var future = StreamId.Parse(all[^1].Id) with { Ms = StreamId.Parse(all[^1].Id).Ms + 60_000 };
        var sub = await RelayKit.NewRelay(log).SubscribeAsync(task, Cursor.AfterId(future), new CollectingSink()).DefaultTimeout();
        Assert.False(sub.Recovered);
        await sub.DisposeAsync();
    }

    [Fact]
    public async Task LiveEventsArrivingDuringReplay_AreMergedWithoutGapsOrRepeats()
    {
        var log = RelayKit.NewLog();
        string task = RelayKit.NewTaskId();
        await AppendMany(log, task, 0, 300);
        var sink = new CollectingSink { DelayPerEvent = TimeSpan.FromTicks(1) };
        var sub = await RelayKit.NewRelay(log, buffer: 8, page: 7).SubscribeAsync(task, Cursor.Start, sink).DefaultTimeout();
        await AppendMany(log, task, 300, 300, terminal: true); // races the replay
        var got = await UntilDone(sub, sink, 30_000);
        StreamAssert.Contiguous(got);
        Assert.Equal(601, got.Count);
    }

    [Fact]
    public async Task LiveFeedThatDropsAndRepeatsEvents_IsHealedFromTheLog()
    {
        var inner = RelayKit.NewLog();
        // Drop every third live event, repeat every fifth.
        var log = new UnreliableFeedLog(inner, e => e.Seq % 3 == 0 ? 0 : e.Seq % 5 == 0 ? 2 : 1);
        string task = RelayKit.NewTaskId();
        var sink = new CollectingSink();
        var sub = await RelayKit.NewRelay(log).SubscribeAsync(task, Cursor.Start, sink).DefaultTimeout();
        await AppendMany(log, task, 0, 200, terminal: true);
        var got = await UntilDone(sub, sink);
        StreamAssert.Contiguous(got);
        Assert.Equal(201, got.Count);
    }

    [Fact]
    public async Task SlowSubscriber_BoundsItsBuffer_AndCatchesUpFromTheLog()
    {
        var log = RelayKit.NewLog();
        string task = RelayKit.NewTaskId();
        var sink = new CollectingSink { Gate = new TaskCompletionSource() };
        var fast = new CollectingSink();
        var relay = RelayKit.NewRelay(log, buffer: 16);
        var slow = await relay.SubscribeAsync(task, Cursor.Start, sink).DefaultTimeout();
        var other = await relay.SubscribeAsync(task, Cursor.Start, fast).DefaultTimeout();
        await AppendMany(log, task, 0, 2000, terminal: true);
        // The fast subscriber is not held back by the stuck one.
        Assert.Equal(2001, (await UntilDone(other, fast)).Count);
        Assert.True(slow.Buffer.Reader.Count <= 16, "a stuck subscriber's buffer stays bounded");
        sink.Gate.SetResult();
        var got = await UntilDone(slow, sink);
        StreamAssert.Contiguous(got);
        Assert.Equal(2001, got.Count);
    }

    [Fact]
    public async Task EventsTrimmedBeforeASlowSubscriberGotThere_EndItsSubscription_WithItsCursor()
    {
        var log = RelayKit.NewLog(maxLength: 50);
        string task = RelayKit.NewTaskId();
        var sink = new CollectingSink { Gate = new TaskCompletionSource() };
        var sub = await RelayKit.NewRelay(log, buffer: 4, page: 10).SubscribeAsync(task, Cursor.Start, sink).DefaultTimeout();
        await AppendMany(log, task, 0, 500);
        sink.Gate.SetResult();
        await sub.Completion.DefaultTimeout();
        Assert.False(sub.CompletedWithTerminal);
        var ended = Assert.Single(sink.Ended);
        Assert.Equal("trimmed", ended.Reason);
        // It may have fallen behind before receiving anything; whatever it got is contiguous and
        // the cursor it is told to resume from is the last event it has.
        var got = sink.Snapshot();
        if (got.Count > 0) StreamAssert.Contiguous(got);
        Assert.Equal(got.Count > 0 ? got[^1].Id : "0-0", ended.Cursor);
        Assert.True(got.Count < 500);
    }

    [Fact]
    public async Task Dispose_StopsDelivery()
    {
        var log = RelayKit.NewLog();
        string task = RelayKit.NewTaskId();
        var sink = new CollectingSink();
        var sub = await RelayKit.NewRelay(log).SubscribeAsync(task, Cursor.Start, sink).DefaultTimeout();
        await AppendMany(log, task, 0, 3);
        await sub.DisposeAsync().AsTask().DefaultTimeout();
        int count = sink.Snapshot().Count;
        await AppendMany(log, task, 3, 3);
        await Task.Delay(100);
        Assert.Equal(count, sink.Snapshot().Count);
    }

    [Theory]
    [InlineData(null, CursorKind.Start)]
    [InlineData("", CursorKind.Start)]
    [InlineData("0-0", CursorKind.Start)]
    [InlineData("$", CursorKind.Live)]
    [InlineData("1732200000000-3", CursorKind.After)]
    public void Cursor_AcceptsItsSpellings(string? text, CursorKind kind)
    {
        Assert.True(Cursor.TryParse(text, out var cursor));
        Assert.Equal(kind, cursor.Kind);
    }

    [Theory]
    [InlineData("abc")]
    [InlineData("-1-0")]
    [InlineData("12-")]
    [InlineData("-5")]
    [InlineData("1 -2")]
    [InlineData("99999999999999999999-0")]
    [InlineData("1-2-3")]
    [InlineData("$$")]
    [InlineData("*")]
    public void Cursor_RejectsMalformedText(string text) => Assert.False(Cursor.TryParse(text, out _));
}
