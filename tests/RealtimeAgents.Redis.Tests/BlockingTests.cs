using System.Diagnostics;

namespace RealtimeAgents.Redis.Tests;

public class BlockingTests(RedisServerFixture redis) : IClassFixture<RedisServerFixture>
{
    [Fact]
    public async Task BlockingXRead_WakesUpOnXAdd_WithoutStallingTheMultiplexedConnection()
    {
        await using RedisClient client = await TestClients.ConnectAsync(redis.Server);
        string key = RedisServer.UniquePrefix() + "s";

        Task<IReadOnlyList<RedisStreamEntry>> blocked = client.XReadBlockingAsync(key, "$", blockMilliseconds: 10_000).AsTask();
        // "$" means entries added after the server runs the read: wait until it blocks there (the
        // dedicated connection may still be connecting), or the XADD below could come first.
        await Eventually.TrueAsync(async () => (await BlockedClients(client)) == 1);

        // The ordinary connection keeps working while the read is blocked: the ping is answered
        // while the read still waits for its entry.
        await client.PingAsync().DefaultTimeout();
        Assert.False(blocked.IsCompleted);

        string id = await client.XAddAsync(key, [("f", "v")]).DefaultTimeout();
        IReadOnlyList<RedisStreamEntry> entries = await blocked.DefaultTimeout();
        Assert.Equal([id], entries.Select(e => e.Id));
    }

    [Fact]
    public async Task BlockingXRead_ReturnsEmpty_WhenTheBlockTimePasses()
    {
        await using RedisClient client = await TestClients.ConnectAsync(redis.Server);
        var watch = Stopwatch.StartNew();
        IReadOnlyList<RedisStreamReadResult> none = await client.XReadBlockingAsync(
            [new RedisStreamPosition(RedisServer.UniquePrefix() + "a", "$"), new RedisStreamPosition(RedisServer.UniquePrefix() + "b", "$")], blockMilliseconds: 200).DefaultTimeout();
        Assert.Empty(none);
        Assert.InRange(watch.ElapsedMilliseconds, 150, 3_000);
    }

    [Fact]
    public async Task CancellingABlockedRead_EndsItAtOnce_AndClosesItsDedicatedConnection()
    {
        await using RedisClient client = await TestClients.ConnectAsync(redis.Server, configure: o => o.ClientName = "blocker");
        string key = RedisServer.UniquePrefix() + "s";
        using var cts = new CancellationTokenSource();
        Task blocked = client.XReadBlockingAsync(key, "$", blockMilliseconds: 0, cancellationToken: cts.Token).AsTask();
        await Eventually.TrueAsync(async () => (await BlockedClients(client)) == 1);

        var watch = Stopwatch.StartNew();
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => blocked.DefaultTimeout());
        Assert.InRange(watch.ElapsedMilliseconds, 0, 1_000);
        await Eventually.TrueAsync(async () => (await BlockedClients(client)) == 0, because: "the server let go of the blocked client");

        // The pool opens a fresh connection for the next blocking call.
        Task<IReadOnlyList<RedisStreamEntry>> next = client.XReadBlockingAsync(key, "0", blockMilliseconds: 1_000).AsTask();
        string id = await client.XAddAsync(key, [("f", "v")]).DefaultTimeout();
        Assert.Equal([id], (await next.DefaultTimeout()).Select(e => e.Id));
    }

    [Fact]
    public async Task BlockingXReadGroup_DeliversNewEntries_AndCanBeCancelled()
    {
        await using RedisClient client = await TestClients.ConnectAsync(redis.Server);
        string key = RedisServer.UniquePrefix() + "q";
        await client.XGroupCreateAsync(key, "workers").DefaultTimeout();

        Task<IReadOnlyList<RedisStreamEntry>> waiting = client.XReadGroupBlockingAsync("workers", "w1", key, count: 1, blockMilliseconds: 5_000).AsTask();
        string id = await client.XAddAsync(key, [("task", "t1")]).DefaultTimeout();
        IReadOnlyList<RedisStreamEntry> got = await waiting.DefaultTimeout();
        Assert.Equal([id], got.Select(e => e.Id));
        Assert.Equal(1, (await client.XPendingAsync(key, "workers").DefaultTimeout()).Count);

        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(150));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(
            () => client.XReadGroupBlockingAsync("workers", "w1", key, blockMilliseconds: 0, cancellationToken: cts.Token).AsTask().DefaultTimeout());

        Assert.Empty(await client.XReadGroupBlockingAsync("workers", "w1", key, blockMilliseconds: 100).DefaultTimeout());
    }

    [Fact]
    public async Task ManyConcurrentBlockingReads_EachGetAConnection()
    {
        await using RedisClient client = await TestClients.ConnectAsync(redis.Server);
        string p = RedisServer.UniquePrefix();
        Task<IReadOnlyList<RedisStreamEntry>>[] reads = [.. Enumerable.Range(0, 8).Select(i => client.XReadBlockingAsync($"{p}{i}", "$", 5_000).AsTask())];
        await Eventually.TrueAsync(async () => (await BlockedClients(client)) == 8);
        for (int i = 0; i < 8; i++)
        {
            await client.XAddAsync($"{p}{i}", [("i", i)]).DefaultTimeout();
        }

        IReadOnlyList<RedisStreamEntry>[] results = await Task.WhenAll(reads).DefaultTimeout();
        Assert.All(results, r => Assert.Single(r));
    }

    private static async Task<long> BlockedClients(RedisClient client)
    {
        string info = (await client.ExecuteAsync("INFO", "clients").DefaultTimeout()).AsString()!;
        string line = info.Split('\n').Single(l => l.StartsWith("blocked_clients:", StringComparison.Ordinal));
        return long.Parse(line["blocked_clients:".Length..].Trim(), System.Globalization.CultureInfo.InvariantCulture);
    }
}
