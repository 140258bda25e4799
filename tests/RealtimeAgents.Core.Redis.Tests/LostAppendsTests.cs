using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using RealtimeAgents.Contracts;
using RealtimeAgents.Core.Relay;
using RealtimeAgents.Testing;
using StackExchange.Redis;
using Xunit;

namespace RealtimeAgents.Core.Redis.Tests;

/// <summary>
/// Replication is asynchronous: a replica promoted after its master died can lack the master's
/// last appends, whose seqs were already published and seen. The log must never hand those seqs
/// out again for other events, and must tell cursors from before the loss that it cannot replay
/// them. The promoted replica's state is reproduced exactly with DUMP before the last appends and
/// RESTORE after them: the stream and its meta hash as the replica had them.
/// </summary>
public sealed class LostAppendsTests(SingleRedis redis) : IClassFixture<SingleRedis>
{
    private static readonly JsonElement Token = JsonSerializer.SerializeToElement(new TextData("m", "x"), ContractsJsonContext.Default.TextData);

    [Fact]
    public async Task AfterAServerLostTheLastAppends_SeqsAreNeverReused_AndOldCursorsAreNotRecovered()
    {
        var keys = redis.NewKeys();
        var log = new RedisEventLog(redis.Multiplexer, keys, Options.Create(new EventLogOptions()), NullLogger<RedisEventLog>.Instance);
        var db = redis.Multiplexer.GetDatabase();
        string taskId = "t" + Guid.NewGuid().ToString("N");
        var live = new Recorder();
        await using var registration = await log.SubscribeAsync(taskId, live).AsTask().DefaultTimeout();

        var kept = new List<EventRecord>();
        for (int i = 0; i < 3; i++) kept.Add(await log.AppendAsync(taskId, "th", EventKinds.TextDelta, Token, 1, attempt: 1).AsTask().DefaultTimeout());
        byte[] stream = (await db.KeyDumpAsync(keys.Events(taskId)).DefaultTimeout())!;
        byte[] meta = (await db.KeyDumpAsync(keys.EventsMeta(taskId)).DefaultTimeout())!;
        var lost = new List<EventRecord>();
        for (int i = 0; i < 2; i++) lost.Add(await log.AppendAsync(taskId, "th", EventKinds.TextDelta, Token, 1, attempt: 1).AsTask().DefaultTimeout());
        await Eventually.TrueAsync(() => Task.FromResult(live.Seqs.Count == 5), 5_000, "the live listener did not see 5 events");

        // The failover: the server now holds what the replica had, without seq 4 and 5.
        await db.ExecuteAsync("RESTORE", (RedisKey)keys.Events(taskId), 0, stream, "REPLACE").DefaultTimeout();
        await db.ExecuteAsync("RESTORE", (RedisKey)keys.EventsMeta(taskId), 0, meta, "REPLACE").DefaultTimeout();

        var next = await log.AppendAsync(taskId, "th", EventKinds.TextDelta, Token, 1, attempt: 1).AsTask().DefaultTimeout();
        Assert.Equal(6, next.Seq); // 4 and 5 were seen: never handed out again
        var info = await log.GetInfoAsync(taskId).AsTask().DefaultTimeout();
        Assert.Equal(next.Id, info!.Epoch); // a new epoch starts at the first event after the loss
        Assert.Equal(6, info.LastSeq);

        var relay = new EventRelay(log, Options.Create(new RelayOptions()), NullLogger<EventRelay>.Instance);
        // A cursor from before the loss cannot be replayed honestly (4 and 5 are gone).
        await using (var fromKept = await relay.SubscribeAsync(taskId, Cursor.AfterId(kept[^1].Id), new NullSink()).DefaultTimeout())
        {
            Assert.False(fromKept.Recovered);
        }
        await using (var fromStart = await relay.SubscribeAsync(taskId, Cursor.Start, new NullSink()).DefaultTimeout())
        {
            Assert.False(fromStart.Recovered);
        }
        await using (var fromNew = await relay.SubscribeAsync(taskId, Cursor.AfterId(next.Id), new NullSink()).DefaultTimeout())
        {
            Assert.True(fromNew.Recovered);
        }
        // The listener that was live throughout saw 1..6, each seq once.
        await Eventually.TrueAsync(() => Task.FromResult(live.Seqs.Count == 6), 5_000, "the live listener did not see seq 6");
        Assert.Equal([1L, 2, 3, 4, 5, 6], live.Seqs);
    }

    [Fact]
    public async Task AWriterThatSawNothingYet_AppendsAsBefore()
    {
        var keys = redis.NewKeys();
        var log = new RedisEventLog(redis.Multiplexer, keys, Options.Create(new EventLogOptions()), NullLogger<RedisEventLog>.Instance);
        string taskId = "t" + Guid.NewGuid().ToString("N");
        var first = await log.AppendAsync(taskId, "th", EventKinds.TextDelta, Token, 1).AsTask().DefaultTimeout();
        var info = await log.GetInfoAsync(taskId).AsTask().DefaultTimeout();
        Assert.Equal(1, first.Seq);
        Assert.Equal(first.Id, info!.Epoch);
        var meta = await redis.Multiplexer.GetDatabase().HashGetAsync(keys.EventsMeta(taskId), "regressions").DefaultTimeout();
        Assert.True(meta.IsNull);
    }

    private sealed class Recorder : IEventListener
    {
        private readonly Lock _gate = new();
        private readonly List<long> _seqs = [];

        public List<long> Seqs
        {
            get { lock (_gate) return [.. _seqs]; }
        }

        public void OnEvent(EventRecord record)
        {
            lock (_gate) _seqs.Add(record.Seq);
        }

        public void OnMissed()
        {
        }
    }

    private sealed class NullSink : IEventSink
    {
        public ValueTask DeliverAsync(EventRecord record, CancellationToken cancellationToken) => ValueTask.CompletedTask;
        public ValueTask EndAsync(SubscriptionEnded ended, CancellationToken cancellationToken) => ValueTask.CompletedTask;
    }
}
