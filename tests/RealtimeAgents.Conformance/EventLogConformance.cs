using System.Text.Json;
using System.Threading.Channels;
using RealtimeAgents.Contracts;
using RealtimeAgents.Core;
using RealtimeAgents.Testing;
using Xunit;

namespace RealtimeAgents.Conformance;

/// <summary>What every <see cref="IEventLog"/> must do. Derive and say how to build one.</summary>
public abstract class EventLogConformance
{
    /// <summary>A log with these options; each call may share storage with others, task ids are unique per test.</summary>
    protected abstract Task<IEventLog> CreateLogAsync(EventLogOptions options);

    /// <summary>How many entries more than MaxLength the implementation may keep (Redis "MAXLEN ~" trims by whole nodes).</summary>
    protected virtual int TrimSlack => 0;

    protected static string NewTaskId() => "t" + Guid.NewGuid().ToString("N");

    private static JsonElement Data(int i) => JsonSerializer.SerializeToElement(new { delta = $"tok{i}" });

    private static Task<EventRecord> Append(IEventLog log, string taskId, int i, string kind = EventKinds.TextDelta) =>
        log.AppendAsync(taskId, "th1", kind, Data(i), 1000.5 + i).AsTask().DefaultTimeout();

    [Fact]
    public async Task Append_AssignsContiguousSeqAndIncreasingIds()
    {
        var log = await CreateLogAsync(new EventLogOptions());
        string task = NewTaskId();
        var appended = new List<EventRecord>();
        for (int i = 0; i < 50; i++) appended.Add(await Append(log, task, i));
        StreamAssert.Contiguous(appended);
        Assert.All(appended, e => Assert.Equal(task, e.TaskId));
        Assert.Equal("tok7", appended[7].ToAgentEvent().Data.GetProperty("delta").GetString());
        Assert.Equal(1007.5, appended[7].Ts);
    }

    [Fact]
    public async Task Read_AfterAnId_ReturnsStrictlyLaterEventsInOrder_PagedByMaxCount()
    {
        var log = await CreateLogAsync(new EventLogOptions());
        string task = NewTaskId();
        var appended = new List<EventRecord>();
        for (int i = 0; i < 20; i++) appended.Add(await Append(log, task, i));

        var all = await log.ReadAsync(task, StreamId.Zero, 100).AsTask().DefaultTimeout();
        Assert.Equal(appended.Select(e => e.Id), all.Select(e => e.Id));
        Assert.Equal(appended.Select(e => e.Seq), all.Select(e => e.Seq));

        var after = await log.ReadAsync(task, appended[9].Id, 5).AsTask().DefaultTimeout();
        Assert.Equal(appended.Skip(10).Take(5).Select(e => e.Seq), after.Select(e => e.Seq));

        var end = await log.ReadAsync(task, appended[^1].Id, 5).AsTask().DefaultTimeout();
        Assert.Empty(end);
    }

    [Fact]
    public async Task MissingStream_ReadsEmpty_AndHasNoInfo()
    {
        var log = await CreateLogAsync(new EventLogOptions());
        string task = NewTaskId();
        Assert.Empty(await log.ReadAsync(task, StreamId.Zero, 10).AsTask().DefaultTimeout());
        Assert.Null(await log.GetInfoAsync(task).AsTask().DefaultTimeout());
    }

    [Fact]
    public async Task Info_ReportsEpochFirstLastSeqAndLength()
    {
        var log = await CreateLogAsync(new EventLogOptions());
        string task = NewTaskId();
        var first = await Append(log, task, 0);
        await Append(log, task, 1);
        var last = await Append(log, task, 2);
        var info = await log.GetInfoAsync(task).AsTask().DefaultTimeout();
        Assert.NotNull(info);
        Assert.Equal(first.Id, info.Epoch);
        Assert.Equal(first.Id, info.FirstId);
        Assert.Equal(last.Id, info.LastId);
        Assert.Equal(3, info.LastSeq);
        Assert.Equal(3, info.Length);
        Assert.Equal(StreamId.Zero, info.MaxDeletedId);
        Assert.False(info.Terminal);
    }

    [Fact]
    public async Task LiveListener_SeesEventsInAppendOrder_AndEachIsAlreadyReadable()
    {
        var log = await CreateLogAsync(new EventLogOptions());
        string task = NewTaskId();
        var listener = new RecordingListener();
        await using (await log.SubscribeAsync(task, listener).AsTask().DefaultTimeout())
        {
            await Task.Delay(50); // a pub/sub subscription may take a moment to become active
            var appended = new List<EventRecord>();
            for (int i = 0; i < 30; i++) appended.Add(await Append(log, task, i));
            var seen = new List<EventRecord>();
            while (seen.Count < 30)
            {
                var ev = await listener.Events.Reader.ReadAsync().AsTask().DefaultTimeout();
                var readable = await log.ReadAsync(task, StreamId.Zero, 1000).AsTask().DefaultTimeout();
                Assert.Contains(readable, r => r.Id == ev.Id);
                seen.Add(ev);
            }
            Assert.Equal(appended.Select(e => e.Seq), seen.Select(e => e.Seq));
            Assert.Equal(appended.Select(e => e.Id), seen.Select(e => e.Id));
        }
    }

    [Fact]
    public async Task DisposedListener_ReceivesNothingMore()
    {
        var log = await CreateLogAsync(new EventLogOptions());
        string task = NewTaskId();
        var listener = new RecordingListener();
        var registration = await log.SubscribeAsync(task, listener).AsTask().DefaultTimeout();
        await Task.Delay(50);
        await Append(log, task, 0);
        await listener.Events.Reader.ReadAsync().AsTask().DefaultTimeout();
        await registration.DisposeAsync().AsTask().DefaultTimeout();
        await Append(log, task, 1);
        await Task.Delay(200);
        Assert.False(listener.Events.Reader.TryRead(out _));
    }

    [Fact]
    public async Task Listeners_OfOneTask_DoNotSeeAnotherTasksEvents()
    {
        var log = await CreateLogAsync(new EventLogOptions());
        string a = NewTaskId(), b = NewTaskId();
        var listener = new RecordingListener();
        await using var registration = await log.SubscribeAsync(a, listener).AsTask().DefaultTimeout();
        await Task.Delay(50);
        await Append(log, b, 0);
        var mine = await Append(log, a, 1);
        var ev = await listener.Events.Reader.ReadAsync().AsTask().DefaultTimeout();
        Assert.Equal(mine.Id, ev.Id);
        Assert.Equal(a, ev.TaskId);
    }

    [Fact]
    public async Task Trimming_KeepsAboutMaxLength_AndAdvancesMaxDeletedId()
    {
        var log = await CreateLogAsync(new EventLogOptions { MaxLength = 100 });
        string task = NewTaskId();
        var appended = new List<EventRecord>();
        for (int i = 0; i < 400; i++) appended.Add(await Append(log, task, i));
        var info = await log.GetInfoAsync(task).AsTask().DefaultTimeout();
        Assert.NotNull(info);
        Assert.InRange(info.Length, 100, 100 + TrimSlack);
        Assert.Equal(400, info.LastSeq);
        Assert.True(info.MaxDeletedId > StreamId.Zero);
        Assert.True(info.FirstId > info.MaxDeletedId);
        Assert.Equal(appended[0].Id, info.Epoch);
        var retained = await log.ReadAsync(task, StreamId.Zero, 1000).AsTask().DefaultTimeout();
        Assert.Equal(info.Length, retained.Count);
        Assert.Equal(info.FirstId, retained[0].Id);
        StreamAssert.Contiguous(retained, retained[0].Seq);
        Assert.Equal(400, retained[^1].Seq);
    }

    [Fact]
    public async Task TerminalEvent_StartsTheTtl_ThenTheStreamIsGone_AndANewOneHasANewEpoch()
    {
        var log = await CreateLogAsync(new EventLogOptions { TerminalTtl = TimeSpan.FromMilliseconds(1500) });
        string task = NewTaskId();
        var first = await Append(log, task, 0);
        await Append(log, task, 1, EventKinds.TaskCompleted);
        var info = await log.GetInfoAsync(task).AsTask().DefaultTimeout();
        Assert.NotNull(info);
        Assert.True(info.Terminal);

        await Eventually.TrueAsync(async () => await log.GetInfoAsync(task) is null,
            because: "the stream did not expire after its TTL");
        Assert.Empty(await log.ReadAsync(task, StreamId.Zero, 10).AsTask().DefaultTimeout());

        var reborn = await Append(log, task, 2);
        Assert.Equal(1, reborn.Seq);
        var again = await log.GetInfoAsync(task).AsTask().DefaultTimeout();
        Assert.NotNull(again);
        Assert.True(again.Epoch > first.Id, "a recreated stream must start a new, later epoch");
    }

    [Fact]
    public async Task ConcurrentAppends_ToOneTask_StillGetUniqueContiguousSeq()
    {
        var log = await CreateLogAsync(new EventLogOptions());
        string task = NewTaskId();
        var results = await Task.WhenAll(Enumerable.Range(0, 8).Select(w => Task.Run(async () =>
        {
            var mine = new List<EventRecord>();
            for (int i = 0; i < 50; i++) mine.Add(await Append(log, task, w * 1000 + i));
            return mine;
        }))).DefaultTimeout(30_000);
        var all = results.SelectMany(r => r).OrderBy(e => e.Seq).ToList();
        StreamAssert.Contiguous(all);
        var read = await log.ReadAsync(task, StreamId.Zero, 1000).AsTask().DefaultTimeout();
        Assert.Equal(all.Select(e => e.Id), read.Select(e => e.Id));
    }

    [Fact]
    public async Task AppendFromAnOlderAttempt_IsFenced_AndWritesNothing()
    {
        var log = await CreateLogAsync(new EventLogOptions());
        string task = NewTaskId();
        await log.AppendAsync(task, "th1", EventKinds.TaskStarted, Data(0), 1, attempt: 1).AsTask().DefaultTimeout();
        await log.AppendAsync(task, "th1", EventKinds.TaskStarted, Data(1), 2, attempt: 2).AsTask().DefaultTimeout();
        var stale = await Assert.ThrowsAsync<StaleAttemptException>(() =>
            log.AppendAsync(task, "th1", EventKinds.TextDelta, Data(2), 3, attempt: 1).AsTask()).DefaultTimeout();
        Assert.Equal(2, stale.Fence);
        var unfenced = await log.AppendAsync(task, "th1", EventKinds.Status, Data(3), 4).AsTask().DefaultTimeout();
        var current = await log.AppendAsync(task, "th1", EventKinds.TextDelta, Data(4), 5, attempt: 2).AsTask().DefaultTimeout();
        Assert.Equal(3, unfenced.Seq);
        Assert.Equal(4, current.Seq);
        Assert.Equal(4, (await log.GetInfoAsync(task).AsTask().DefaultTimeout())!.Length);
    }

    public sealed class RecordingListener : IEventListener
    {
        public Channel<EventRecord> Events { get; } = Channel.CreateUnbounded<EventRecord>();
        public int Missed;
        public void OnEvent(EventRecord record) => Events.Writer.TryWrite(record);
        public void OnMissed() => Interlocked.Increment(ref Missed);
    }
}
