using System.Collections.Concurrent;

namespace RealtimeAgents.Redis.Tests;

/// <summary>Handshake options and the multiplexed connection under concurrency.</summary>
public class ConnectionTests(RedisServerFixture redis) : IClassFixture<RedisServerFixture>
{
    [Fact]
    public async Task TenThousandConcurrentCalls_From50Tasks_EachGetTheirOwnReply()
    {
        await using RedisClient client = await TestClients.ConnectAsync(redis.Server);
        string p = RedisServer.UniquePrefix();
        var mismatches = new ConcurrentBag<string>();

        Task[] tasks = Enumerable.Range(0, 50).Select(t => Task.Run(async () =>
        {
            string counter = $"{p}counter:{t}";
            for (int i = 1; i <= 100; i++)
            {
                // Three interleaved command shapes per iteration: an integer, a write and a bulk read.
                ValueTask<long> incr = client.IncrAsync(counter);
                ValueTask<bool> set = client.SetAsync($"{p}v:{t}:{i}", $"value-{t}-{i}");
                long n = await incr;
                await set;
                string? value = await client.GetAsync($"{p}v:{t}:{i}");
                if (n != i)
                {
                    mismatches.Add($"task {t}: INCR gave {n}, expected {i}");
                }

                if (value != $"value-{t}-{i}")
                {
                    mismatches.Add($"task {t}: GET gave {value}");
                }
            }
        })).ToArray();
        await Task.WhenAll(tasks).DefaultTimeout(30_000);

        Assert.Empty(mismatches);
        Assert.Equal(0, client.Pending);
    }

    [Fact]
    public async Task ManyCallsStartedBeforeAnyAwait_ArePipelinedAndMatchedInOrder()
    {
        await using RedisClient client = await TestClients.ConnectAsync(redis.Server);
        string key = RedisServer.UniquePrefix() + "n";
        var pending = new List<Task<long>>();
        for (int i = 0; i < 10_000; i++)
        {
            pending.Add(client.IncrAsync(key).AsTask());
        }

        long[] results = await Task.WhenAll(pending).DefaultTimeout(30_000);
        Assert.Equal(Enumerable.Range(1, 10_000).Select(i => (long)i), results);
    }

    [Fact]
    public async Task CancelledToken_FailsTheCall_AndTheConnectionStaysInStep()
    {
        await using RedisClient client = await TestClients.ConnectAsync(redis.Server);
        string key = RedisServer.UniquePrefix() + "k";
        await client.SetAsync(key, "v").DefaultTimeout();

        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.GetAsync(key, cancelled.Token).DefaultTimeout());

        // A call cancelled while its reply is in flight: DEBUG SLEEP holds the server so the cancel lands first.
        using var soon = new CancellationTokenSource(TimeSpan.FromMilliseconds(50));
        Task<RedisReply> sleeping = client.ExecuteAsync("DEBUG", ["SLEEP", "0.3"], soon.Token).AsTask();
        Task<string?> after = client.GetAsync(key).AsTask();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => sleeping.DefaultTimeout());
        Assert.Equal("v", await after.DefaultTimeout());
        Assert.Equal("v", await client.GetAsync(key).DefaultTimeout());
    }

    [Fact]
    public async Task RacingCancellations_NeverHandAReplyToTheWrongCaller()
    {
        // Pending objects are pooled: a cancelled command's slot must not be recycled while its reply is
        // still coming, or that reply would surface in someone else's call.
        await using RedisClient client = await TestClients.ConnectAsync(redis.Server);
        int completed = 0, cancelled = 0;
        Task[] tasks = [.. Enumerable.Range(0, 20).Select(t => Task.Run(async () =>
        {
            var random = new Random(t);
            for (int i = 0; i < 300; i++)
            {
                string mine = $"{t}:{i}";
                using var cts = new CancellationTokenSource();
                ValueTask<RedisReply> call = client.ExecuteAsync("ECHO", [mine], cts.Token);
                if (random.Next(3) == 0)
                {
                    cts.Cancel();
                }

                try
                {
                    Assert.Equal(mine, (await call).AsString());
                    Interlocked.Increment(ref completed);
                }
                catch (OperationCanceledException)
                {
                    Interlocked.Increment(ref cancelled);
                }
            }
        }))];
        await Task.WhenAll(tasks).DefaultTimeout(30_000);

        Assert.Equal(6000, completed + cancelled);
        Assert.True(cancelled > 0, "some calls should have been cancelled in flight");
        await Eventually.TrueAsync(() => Task.FromResult(client.Pending == 0));
        Assert.Equal("still in step", (await client.ExecuteAsync("ECHO", "still in step").DefaultTimeout()).AsString());
    }

    [Fact]
    public async Task Database_IsSelectedOnConnect()
    {
        await using RedisClient db5 = await TestClients.ConnectAsync(redis.Server, configure: o => o.Database = 5);
        await using RedisClient db0 = await TestClients.ConnectAsync(redis.Server);
        string key = RedisServer.UniquePrefix() + "db";
        await db5.SetAsync(key, "five").DefaultTimeout();
        Assert.Null(await db0.GetAsync(key).DefaultTimeout());
        Assert.Equal("five", await db5.GetAsync(key).DefaultTimeout());
    }

    [Fact]
    public async Task ConnectingToNothing_FailsWithConnectionException_OrRetriesInBackground()
    {
        var dead = new RedisOptions { Host = "127.0.0.1", Port = 1, ConnectTimeout = TimeSpan.FromSeconds(1) };
        await Assert.ThrowsAsync<RedisConnectionException>(() => RedisClient.ConnectAsync(dead).DefaultTimeout());

        dead.AbortOnConnectFail = false;
        dead.WhenDisconnected = RedisDisconnectedBehavior.FailFast;
        await using RedisClient client = await RedisClient.ConnectAsync(dead).DefaultTimeout();
        Assert.False(client.IsConnected);
        await Assert.ThrowsAsync<RedisConnectionException>(() => client.PingAsync().AsTask().DefaultTimeout());
    }
}

/// <summary>AUTH with an ACL user and a password, and a Unix socket: servers of their own.</summary>
public class AuthenticationTests
{
    [Theory]
    [InlineData(RedisProtocol.Resp2)]
    [InlineData(RedisProtocol.Resp3)]
    public async Task UserAndPassword_AreSentOnConnect_AndWrongOnesFail(RedisProtocol protocol)
    {
        await using RedisServer server = await RedisServer.StartAsync(new RedisServerOptions
        {
            Password = "topsecret",
            ExtraArgs = ["--requirepass", "topsecret", "--user", "app", "on", ">apppass", "~*", "&*", "+@all"],
        }).DefaultTimeout();

        await using (RedisClient byPassword = await TestClients.ConnectAsync(server, protocol, o => o.Password = "topsecret"))
        {
            await byPassword.PingAsync().DefaultTimeout();
        }

        await using (RedisClient byUser = await TestClients.ConnectAsync(server, protocol, o => (o.User, o.Password) = ("app", "apppass")))
        {
            Assert.Equal("app", (await byUser.ExecuteAsync("ACL", "WHOAMI").DefaultTimeout()).AsString());
        }

        var wrong = await Assert.ThrowsAsync<RedisConnectionException>(() => TestClients.ConnectAsync(server, protocol, o => o.Password = "nope"));
        Assert.Contains("WRONGPASS", wrong.Message, StringComparison.Ordinal);

        await Assert.ThrowsAsync<RedisConnectionException>(() => TestClients.ConnectAsync(server, protocol));
    }

    [Fact]
    public async Task AServerWithoutHello_IsSpokenToInResp2_WithAuthAndNameStillApplied()
    {
        // Renaming HELLO away makes a Redis 7 answer like a Redis 5 would: "unknown command".
        await using RedisServer server = await RedisServer.StartAsync(new RedisServerOptions
        {
            Password = "pw",
            ExtraArgs = ["--requirepass", "pw", "--rename-command", "HELLO", ""],
        }).DefaultTimeout();
        await using RedisClient client = await TestClients.ConnectAsync(server, RedisProtocol.Resp3, o => (o.Password, o.ClientName, o.Database) = ("pw", "old-school", 2));

        string info = (await client.ExecuteAsync("CLIENT", "INFO").DefaultTimeout()).AsString()!;
        Assert.Contains("resp=2", info, StringComparison.Ordinal);
        Assert.Contains("name=old-school", info, StringComparison.Ordinal);
        Assert.Contains("db=2", info, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UnixSocket_Works()
    {
        string socket = Path.Combine(Path.GetTempPath(), "ra-" + Guid.NewGuid().ToString("N")[..8] + ".sock");
        await using RedisServer server = await RedisServer.StartAsync(new RedisServerOptions { ExtraArgs = ["--unixsocket", socket, "--unixsocketperm", "700"] }).DefaultTimeout();
        await using RedisClient client = await RedisClient.ConnectAsync("unix://" + socket).DefaultTimeout();
        await client.SetAsync("k", "over a unix socket").DefaultTimeout();
        Assert.Equal("over a unix socket", await client.GetAsync("k").DefaultTimeout());
    }
}
