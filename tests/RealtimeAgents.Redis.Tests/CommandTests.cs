using System.Text;

namespace RealtimeAgents.Redis.Tests;

/// <summary>The typed helpers against a real redis-server, under both protocol versions.</summary>
public class CommandTests(RedisServerFixture redis) : IClassFixture<RedisServerFixture>
{
    public static TheoryData<RedisProtocol> Protocols => [RedisProtocol.Resp2, RedisProtocol.Resp3];

    [Theory]
    [MemberData(nameof(Protocols))]
    public async Task Handshake_NegotiatesTheRequestedProtocol(RedisProtocol protocol)
    {
        await using RedisClient client = await TestClients.ConnectAsync(redis.Server, protocol, o => o.ClientName = "proto-test");
        RedisReply hello = await client.ExecuteAsync("CLIENT", "INFO").DefaultTimeout();
        string info = hello.AsString()!;
        Assert.Contains(protocol == RedisProtocol.Resp3 ? "resp=3" : "resp=2", info, StringComparison.Ordinal);
        Assert.Contains("name=proto-test", info, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Protocols))]
    public async Task StringsAndKeys_BehaveLikeRedisDocumentsThem(RedisProtocol protocol)
    {
        await using RedisClient client = await TestClients.ConnectAsync(redis.Server, protocol);
        string p = RedisServer.UniquePrefix();

        await client.PingAsync().DefaultTimeout();
        Assert.Null(await client.GetAsync(p + "missing").DefaultTimeout());
        Assert.True(await client.SetAsync(p + "s", "héllo").DefaultTimeout());
        Assert.Equal("héllo", await client.GetAsync(p + "s").DefaultTimeout());
        Assert.False(await client.SetAsync(p + "s", "other", onlyIfNotExists: true).DefaultTimeout());
        Assert.True(await client.SetAsync(p + "nx", 42, TimeSpan.FromSeconds(30), onlyIfNotExists: true).DefaultTimeout());
        Assert.InRange(await client.PTtlAsync(p + "nx").DefaultTimeout(), 1, 30_000);
        Assert.Equal([1, 2, 3], await client.GetBytesAsync(p + "bin").DefaultTimeout() ?? [1, 2, 3]);
        Assert.True(await client.SetAsync(p + "bin", new byte[] { 0, 13, 10, 255 }).DefaultTimeout());
        Assert.Equal(new byte[] { 0, 13, 10, 255 }, await client.GetBytesAsync(p + "bin").DefaultTimeout());

        Assert.Equal(1, await client.IncrAsync(p + "n").DefaultTimeout());
        Assert.Equal(11, await client.IncrByAsync(p + "n", 10).DefaultTimeout());
        Assert.True(await client.ExistsAsync(p + "n").DefaultTimeout());
        Assert.Equal(2, await client.ExistsAsync([p + "n", p + "s", p + "missing"]).DefaultTimeout());

        Assert.Equal(-1, await client.TtlAsync(p + "n").DefaultTimeout());
        Assert.Equal(-2, await client.TtlAsync(p + "missing").DefaultTimeout());
        Assert.True(await client.ExpireAsync(p + "n", 100).DefaultTimeout());
        Assert.InRange(await client.TtlAsync(p + "n").DefaultTimeout(), 90, 100);
        Assert.True(await client.PExpireAsync(p + "n", 50_000).DefaultTimeout());
        Assert.InRange(await client.PTtlAsync(p + "n").DefaultTimeout(), 40_000, 50_000);
        Assert.False(await client.ExpireAsync(p + "missing", 10).DefaultTimeout());

        Assert.Equal(1, await client.DelAsync(p + "n").DefaultTimeout());
        Assert.Equal(0, await client.DelAsync(p + "n").DefaultTimeout());
        Assert.Equal(2, await client.DelAsync([p + "s", p + "nx", p + "missing"]).DefaultTimeout());
        Assert.Equal(0, await client.PublishAsync(p + "nobody", "hi").DefaultTimeout());
    }

    [Theory]
    [MemberData(nameof(Protocols))]
    public async Task Hashes_RoundTrip(RedisProtocol protocol)
    {
        await using RedisClient client = await TestClients.ConnectAsync(redis.Server, protocol);
        string key = RedisServer.UniquePrefix() + "h";

        Assert.Empty(await client.HGetAllAsync(key).DefaultTimeout());
        Assert.Null(await client.HGetAsync(key, "a").DefaultTimeout());
        Assert.Equal(2, await client.HSetAsync(key, [("a", "1"), ("b", 2.5)]).DefaultTimeout());
        Assert.Equal(0, await client.HSetAsync(key, "a", "one").DefaultTimeout());
        Assert.Equal("one", await client.HGetAsync(key, "a").DefaultTimeout());
        Assert.Equal(5, await client.HIncrByAsync(key, "c", 5).DefaultTimeout());
        Dictionary<string, string> all = await client.HGetAllAsync(key).DefaultTimeout();
        Assert.Equal(new Dictionary<string, string> { ["a"] = "one", ["b"] = "2.5", ["c"] = "5" }, all);
        Assert.Equal(1, await client.HDelAsync(key, "a").DefaultTimeout());
        Assert.Equal(0, await client.HDelAsync(key, "a").DefaultTimeout());
    }

    [Theory]
    [MemberData(nameof(Protocols))]
    public async Task WrongType_ThrowsServerExceptionWithTheServersMessageAndPrefix(RedisProtocol protocol)
    {
        await using RedisClient client = await TestClients.ConnectAsync(redis.Server, protocol);
        string key = RedisServer.UniquePrefix() + "str";
        await client.SetAsync(key, "x").DefaultTimeout();

        var ex = await Assert.ThrowsAsync<RedisServerException>(() => client.XAddAsync(key, [("f", "v")]).DefaultTimeout());
        Assert.Equal("WRONGTYPE", ex.Prefix);
        Assert.StartsWith("WRONGTYPE Operation against a key holding the wrong kind of value", ex.ServerMessage, StringComparison.Ordinal);

        var unknown = await Assert.ThrowsAsync<RedisServerException>(() => client.ExecuteAsync("NOSUCHCOMMAND").DefaultTimeout());
        Assert.Equal("ERR", unknown.Prefix);

        // The connection is still in step after errors.
        Assert.Equal("x", await client.GetAsync(key).DefaultTimeout());
    }

    [Theory]
    [MemberData(nameof(Protocols))]
    public async Task XAdd_AndRanges_ReturnEntriesInOrder(RedisProtocol protocol)
    {
        await using RedisClient client = await TestClients.ConnectAsync(redis.Server, protocol);
        string key = RedisServer.UniquePrefix() + "s";

        Assert.Empty(await client.XRangeAsync(key).DefaultTimeout());
        Assert.Empty(await client.XRevRangeAsync(key).DefaultTimeout());
        Assert.Equal(0, await client.XLenAsync(key).DefaultTimeout());

        string id1 = await client.XAddAsync(key, [("kind", "text"), ("n", 1)], id: "5-1").DefaultTimeout();
        Assert.Equal("5-1", id1);
        string id2 = await client.XAddAsync(key, [("kind", "tool"), ("data", new byte[] { 0, 255 })]).DefaultTimeout();
        string id3 = await client.XAddAsync(key, [("kind", "end")], maxLength: 1000).DefaultTimeout();

        IReadOnlyList<RedisStreamEntry> all = await client.XRangeAsync(key).DefaultTimeout();
        Assert.Equal([id1, id2, id3], all.Select(e => e.Id));
        Assert.Equal("text", all[0].GetString("kind"));
        Assert.Equal("1", all[0].GetString("n"));
        Assert.Equal(new byte[] { 0, 255 }, all[1]["data"]!.Value.ToArray());
        Assert.False(all[0].IsDeleted);

        Assert.Equal([id3, id2], (await client.XRevRangeAsync(key, count: 2).DefaultTimeout()).Select(e => e.Id));
        Assert.Equal([id2, id3], (await client.XRangeAsync(key, "(" + id1).DefaultTimeout()).Select(e => e.Id));
        Assert.Equal([id1], (await client.XRangeAsync(key, count: 1).DefaultTimeout()).Select(e => e.Id));

        var explicitTooSmall = await Assert.ThrowsAsync<RedisServerException>(() => client.XAddAsync(key, [("k", "v")], id: "1-1").DefaultTimeout());
        Assert.Contains("equal or smaller", explicitTooSmall.Message, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Protocols))]
    public async Task XRead_NonBlocking_HandlesMissingEmptyAndSeveralStreams(RedisProtocol protocol)
    {
        await using RedisClient client = await TestClients.ConnectAsync(redis.Server, protocol);
        string p = RedisServer.UniquePrefix();

        Assert.Empty(await client.XReadAsync(p + "missing", "0").DefaultTimeout());
        string a1 = await client.XAddAsync(p + "a", [("f", "a1")]).DefaultTimeout();
        string b1 = await client.XAddAsync(p + "b", [("f", "b1")]).DefaultTimeout();
        string a2 = await client.XAddAsync(p + "a", [("f", "a2")]).DefaultTimeout();

        Assert.Equal([a2], (await client.XReadAsync(p + "a", a1).DefaultTimeout()).Select(e => e.Id));
        Assert.Empty(await client.XReadAsync(p + "a", a2).DefaultTimeout());

        IReadOnlyList<RedisStreamReadResult> both = await client.XReadAsync(
            [new RedisStreamPosition(p + "a", "0"), new RedisStreamPosition(p + "b", "0"), new RedisStreamPosition(p + "missing", "0")], count: 10).DefaultTimeout();
        Assert.Equal(2, both.Count);
        Assert.Equal([a1, a2], both.Single(r => r.Key == p + "a").Entries.Select(e => e.Id));
        Assert.Equal([b1], both.Single(r => r.Key == p + "b").Entries.Select(e => e.Id));
    }

    [Theory]
    [MemberData(nameof(Protocols))]
    public async Task ConsumerGroups_CreateReadAckAndTolerateBusyGroup(RedisProtocol protocol)
    {
        await using RedisClient client = await TestClients.ConnectAsync(redis.Server, protocol);
        string key = RedisServer.UniquePrefix() + "q";

        Assert.True(await client.XGroupCreateAsync(key, "g", "0").DefaultTimeout());
        Assert.False(await client.XGroupCreateAsync(key, "g", "0").DefaultTimeout());
        var noStream = await Assert.ThrowsAsync<RedisServerException>(
            () => client.XGroupCreateAsync(key + "x", "g", "0", createStream: false).DefaultTimeout());
        Assert.Contains("MKSTREAM", noStream.Message, StringComparison.Ordinal);

        Assert.Empty(await client.XReadGroupAsync("g", "c1", key).DefaultTimeout());
        RedisPendingSummary empty = await client.XPendingAsync(key, "g").DefaultTimeout();
        Assert.Equal(0, empty.Count);
        Assert.Null(empty.SmallestId);
        Assert.Empty(empty.Consumers);
        Assert.Empty(await client.XPendingRangeAsync(key, "g", 10).DefaultTimeout());

        string id1 = await client.XAddAsync(key, [("task", "1")]).DefaultTimeout();
        string id2 = await client.XAddAsync(key, [("task", "2")]).DefaultTimeout();
        IReadOnlyList<RedisStreamEntry> got = await client.XReadGroupAsync("g", "c1", key, count: 10).DefaultTimeout();
        Assert.Equal([id1, id2], got.Select(e => e.Id));
        Assert.Empty(await client.XReadGroupAsync("g", "c2", key).DefaultTimeout());

        RedisPendingSummary summary = await client.XPendingAsync(key, "g").DefaultTimeout();
        Assert.Equal(2, summary.Count);
        Assert.Equal(id1, summary.SmallestId);
        Assert.Equal(id2, summary.LargestId);
        Assert.Equal([new KeyValuePair<string, long>("c1", 2)], summary.Consumers);

        IReadOnlyList<RedisPendingEntry> details = await client.XPendingRangeAsync(key, "g", 10, consumer: "c1").DefaultTimeout();
        Assert.Equal([id1, id2], details.Select(d => d.Id));
        Assert.All(details, d => Assert.Equal(("c1", 1L), (d.Consumer, d.DeliveryCount)));
        Assert.Empty(await client.XPendingRangeAsync(key, "g", 10, minIdleMilliseconds: 60_000).DefaultTimeout());

        Assert.Equal(1, await client.XAckAsync(key, "g", id1).DefaultTimeout());
        Assert.Equal(1, await client.XAckAsync(key, "g", [id1, id2]).DefaultTimeout());
        Assert.Equal(0, (await client.XPendingAsync(key, "g").DefaultTimeout()).Count);

        string id3 = await client.XAddAsync(key, [("task", "3")]).DefaultTimeout();
        IReadOnlyList<RedisStreamEntry> noAck = await client.XReadGroupAsync("g", "c1", key, noAck: true).DefaultTimeout();
        Assert.Equal([id3], noAck.Select(e => e.Id));
        Assert.Equal(0, (await client.XPendingAsync(key, "g").DefaultTimeout()).Count);
    }

    [Theory]
    [MemberData(nameof(Protocols))]
    public async Task XReadGroup_OfPendingEntries_AfterXDel_ReportsThemAsDeleted(RedisProtocol protocol)
    {
        await using RedisClient client = await TestClients.ConnectAsync(redis.Server, protocol);
        string key = RedisServer.UniquePrefix() + "q";
        await client.XGroupCreateAsync(key, "g", "0").DefaultTimeout();
        string keep = await client.XAddAsync(key, [("n", "1")]).DefaultTimeout();
        string gone = await client.XAddAsync(key, [("n", "2")]).DefaultTimeout();
        await client.XReadGroupAsync("g", "c", key).DefaultTimeout();

        Assert.Equal(1, await client.XDelAsync(key, gone).DefaultTimeout());
        Assert.Equal(0, await client.XDelAsync(key, [gone]).DefaultTimeout());

        IReadOnlyList<RedisStreamEntry> pending = await client.XReadGroupAsync("g", "c", key, "0").DefaultTimeout();
        Assert.Equal([keep, gone], pending.Select(e => e.Id));
        Assert.False(pending[0].IsDeleted);
        Assert.Equal("1", pending[0].GetString("n"));
        Assert.True(pending[1].IsDeleted);
        Assert.Empty(pending[1].Fields);
    }

    [Theory]
    [MemberData(nameof(Protocols))]
    public async Task XAutoClaim_ClaimsIdleEntries_AndReportsDeletedIds(RedisProtocol protocol)
    {
        await using RedisClient client = await TestClients.ConnectAsync(redis.Server, protocol);
        string key = RedisServer.UniquePrefix() + "q";
        await client.XGroupCreateAsync(key, "g", "0").DefaultTimeout();
        string a = await client.XAddAsync(key, [("n", "a")]).DefaultTimeout();
        string b = await client.XAddAsync(key, [("n", "b")]).DefaultTimeout();
        string c = await client.XAddAsync(key, [("n", "c")]).DefaultTimeout();
        await client.XReadGroupAsync("g", "dead-worker", key).DefaultTimeout();
        await client.XDelAsync(key, b).DefaultTimeout();

        RedisAutoClaimResult claimed = await client.XAutoClaimAsync(key, "g", "rescuer", minIdleMilliseconds: 0, count: 10).DefaultTimeout();
        Assert.Equal("0-0", claimed.NextCursor);
        Assert.Equal([a, c], claimed.Claimed.Select(e => e.Id));
        Assert.Equal("c", claimed.Claimed[1].GetString("n"));
        Assert.Equal([b], claimed.DeletedIds);

        IReadOnlyList<RedisPendingEntry> pending = await client.XPendingRangeAsync(key, "g", 10).DefaultTimeout();
        Assert.All(pending, p => Assert.Equal("rescuer", p.Consumer));
        Assert.All(pending, p => Assert.Equal(2, p.DeliveryCount));

        RedisAutoClaimResult nothingIdle = await client.XAutoClaimAsync(key, "g", "other", minIdleMilliseconds: 60_000).DefaultTimeout();
        Assert.Empty(nothingIdle.Claimed);
        Assert.Empty(nothingIdle.DeletedIds);
    }

    [Theory]
    [MemberData(nameof(Protocols))]
    public async Task XInfoStream_XTrim_AndXDel_ReportRedis7Fields(RedisProtocol protocol)
    {
        await using RedisClient client = await TestClients.ConnectAsync(redis.Server, protocol);
        string key = RedisServer.UniquePrefix() + "s";

        var missing = await Assert.ThrowsAsync<RedisServerException>(() => client.XInfoStreamAsync(key).DefaultTimeout());
        Assert.Contains("no such key", missing.Message, StringComparison.Ordinal);

        await client.XGroupCreateAsync(key, "g").DefaultTimeout();
        RedisStreamInfo empty = await client.XInfoStreamAsync(key).DefaultTimeout();
        Assert.Equal(0, empty.Length);
        Assert.Equal(1, empty.Groups);
        Assert.Null(empty.FirstEntry);
        Assert.Equal("0-0", empty.LastGeneratedId);

        for (int i = 1; i <= 5; i++)
        {
            await client.XAddAsync(key, [("i", i)], id: $"{i}-0").DefaultTimeout();
        }

        Assert.Equal(1, await client.XDelAsync(key, "2-0").DefaultTimeout());
        Assert.Equal(2, await client.XTrimAsync(key, 2, approximate: false).DefaultTimeout());

        RedisStreamInfo info = await client.XInfoStreamAsync(key).DefaultTimeout();
        Assert.Equal(2, info.Length);
        Assert.Equal("5-0", info.LastGeneratedId);
        Assert.Equal("2-0", info.MaxDeletedEntryId); // XDEL moves it; trimming does not
        Assert.Equal(5, info.EntriesAdded);
        Assert.Equal("4-0", info.RecordedFirstEntryId);
        Assert.Equal("4-0", info.FirstEntry!.Id);
        Assert.Equal("4", info.FirstEntry.GetString("i"));
        Assert.Equal("5-0", info.LastEntry!.Id);

        Assert.Equal(1, await client.XTrimMinIdAsync(key, "5-0", approximate: false).DefaultTimeout());
        Assert.Equal(0, await client.XTrimAsync(key, 1000).DefaultTimeout());
    }

    [Theory]
    [MemberData(nameof(Protocols))]
    public async Task RawCommands_MapEveryReplyShape(RedisProtocol protocol)
    {
        await using RedisClient client = await TestClients.ConnectAsync(redis.Server, protocol);
        string p = RedisServer.UniquePrefix();
        await client.ExecuteAsync("ZADD", p + "z", 1.5, "m").DefaultTimeout();

        RedisReply score = await client.ExecuteAsync("ZSCORE", p + "z", "m").DefaultTimeout();
        Assert.Equal(protocol == RedisProtocol.Resp3 ? RedisReplyKind.Double : RedisReplyKind.BulkString, score.Kind);
        Assert.Equal(1.5, score.AsDouble());

        RedisReply ok = await client.ExecuteAsync("SET", p + "k", "v").DefaultTimeout();
        Assert.Equal(RedisReplyKind.SimpleString, ok.Kind);
        Assert.Equal("OK", ok.AsString());

        RedisReply hash = await client.ExecuteAsync("HGETALL", [p + "none"], CancellationToken.None).DefaultTimeout();
        Assert.Equal(protocol == RedisProtocol.Resp3 ? RedisReplyKind.Map : RedisReplyKind.Array, hash.Kind);

        RedisReply nil = await client.ExecuteAsync("GET", (IReadOnlyList<RedisArg>)[p + "none"]).DefaultTimeout();
        Assert.True(nil.IsNull);

        await client.ExecuteAsync("SADD", p + "set", "a", "b").DefaultTimeout();
        RedisReply set = await client.ExecuteAsync("SMEMBERS", p + "set").DefaultTimeout();
        Assert.Equal(protocol == RedisProtocol.Resp3 ? RedisReplyKind.Set : RedisReplyKind.Array, set.Kind);
        Assert.Equal(["a", "b"], set.Elements.Select(e => e.AsString()).Order());

        RedisReply multi = await client.ExecuteAsync("MGET", p + "k", p + "none").DefaultTimeout();
        Assert.Equal("v", multi[0].AsString());
        Assert.True(multi[1].IsNull);
    }

    [Fact]
    public async Task Scripts_RunByShaAndFallBackToEvalAfterScriptFlush()
    {
        await using RedisClient client = await TestClients.ConnectAsync(redis.Server);
        string key = RedisServer.UniquePrefix() + "seq";
        var script = new RedisScript("return redis.call('INCRBY', KEYS[1], ARGV[1])");

        Assert.Equal(script.Sha1, await client.ScriptLoadAsync(script).DefaultTimeout());
        Assert.Equal(2, (await client.EvaluateAsync(script, [key], [2]).DefaultTimeout()).AsInt64());

        await client.ExecuteAsync("SCRIPT", "FLUSH").DefaultTimeout();
        Assert.False((await client.ExecuteAsync("SCRIPT", "EXISTS", script.Sha1).DefaultTimeout())[0].AsBoolean());
        Assert.Equal(5, (await client.EvaluateAsync(script, [key], [3]).DefaultTimeout()).AsInt64());
        Assert.True((await client.ExecuteAsync("SCRIPT", "EXISTS", script.Sha1).DefaultTimeout())[0].AsBoolean());

        var scriptError = await Assert.ThrowsAsync<RedisServerException>(
            () => client.EvaluateAsync(new RedisScript("return redis.call('NOPE')")).AsTask().DefaultTimeout());
        Assert.Contains("Unknown Redis command", scriptError.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Theory]
    [InlineData("SUBSCRIBE")]
    [InlineData("psubscribe")]
    [InlineData("MONITOR")]
    [InlineData("SELECT")]
    public async Task CommandsThatWouldHijackTheSharedConnection_AreRefused(string command)
    {
        await using RedisClient client = await TestClients.ConnectAsync(redis.Server);
        Assert.Throws<ArgumentException>(() => client.ExecuteAsync(command, "x"));
        await client.PingAsync().DefaultTimeout();
    }

    [Fact]
    public async Task Pending_IsZeroAndCountersMove_AfterTraffic()
    {
        await using RedisClient client = await TestClients.ConnectAsync(redis.Server);
        long before = client.CommandsSent;
        for (int i = 0; i < 10; i++)
        {
            await client.PingAsync().DefaultTimeout();
        }

        Assert.True(client.CommandsSent >= before + 10);
        Assert.Equal(0, client.Pending);
        Assert.Equal(0, client.Reconnects);
        Assert.True(client.IsConnected);
    }

    [Fact]
    public async Task BigValues_CrossManyReadsAndWritesIntact()
    {
        await using RedisClient client = await TestClients.ConnectAsync(redis.Server);
        string key = RedisServer.UniquePrefix() + "big";
        byte[] value = new byte[3 * 1024 * 1024];
        new Random(42).NextBytes(value);
        await client.SetAsync(key, value).DefaultTimeout();
        Assert.Equal(value, await client.GetBytesAsync(key).DefaultTimeout());
        Assert.Equal(Encoding.UTF8.GetBytes("x"), Encoding.UTF8.GetBytes("x"));
    }
}
