using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;

namespace RealtimeAgents.Redis.Tests;

/// <summary>Failures of a real server: each test owns its redis-server, because it stops, kills or freezes it.</summary>
public class FaultTests
{
    [Theory]
    [InlineData(RedisProtocol.Resp2)]
    [InlineData(RedisProtocol.Resp3)]
    public async Task ServerRestartMidTraffic_NobodyHangs_ThenEverythingWorksAgain_AndSubscriptionsHeal(RedisProtocol protocol)
    {
        await using RedisServer server = await RedisServer.StartAsync().DefaultTimeout();
        await using RedisClient client = await TestClients.ConnectAsync(server, protocol);
        var lost = new TaskCompletionSource<IReadOnlyList<string>>(TaskCreationOptions.RunContinuationsAsynchronously);
        client.Subscriber.MessagesMayHaveBeenLost += channels => lost.TrySetResult(channels);
        var messages = new ConcurrentQueue<string>();
        await using IAsyncDisposable sub = await client.Subscriber.SubscribeAsync("events", (_, m) =>
        {
            messages.Enqueue(Encoding.UTF8.GetString(m.Span));
            return ValueTask.CompletedTask;
        }).DefaultTimeout();

        using var stop = new CancellationTokenSource();
        long ok = 0, failed = 0;
        Task[] traffic = Enumerable.Range(0, 20).Select(t => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    // ECHO of a value unique to this caller and call: a reply handed to the wrong caller shows.
                    // (Not SET then GET: the restarted server has no persistence, so a GET may rightly find nothing.)
                    string mine = $"caller-{t}-{Interlocked.Read(ref ok)}";
                    await client.SetAsync($"k{t}", t).DefaultTimeout();
                    Assert.Equal(mine, (await client.ExecuteAsync("ECHO", mine).DefaultTimeout()).AsString());
                    Interlocked.Increment(ref ok);
                }
                catch (RedisException)
                {
                    Interlocked.Increment(ref failed);
                }
            }
        })).ToArray();

        await Eventually.TrueAsync(() => Task.FromResult(Interlocked.Read(ref ok) > 200));
        await server.RestartAsync().DefaultTimeout();
        long okAtRestart = Interlocked.Read(ref ok);
        await Eventually.TrueAsync(() => Task.FromResult(Interlocked.Read(ref ok) > okAtRestart + 200), because: "traffic resumes after the restart");
        await stop.CancelAsync();
        await Task.WhenAll(traffic).DefaultTimeout(); // every caller came back: none hung

        Assert.True(client.Reconnects >= 1);
        Assert.Equal(["events"], await lost.Task.DefaultTimeout());
        await Eventually.TrueAsync(async () => await client.PublishAsync("events", "after-restart") == 1);
        await Eventually.TrueAsync(() => Task.FromResult(messages.Contains("after-restart")));
    }

    [Fact]
    public async Task KilledServer_FailsEveryPendingCall_WithConnectionException()
    {
        await using RedisServer server = await RedisServer.StartAsync().DefaultTimeout();
        await using RedisClient client = await TestClients.ConnectAsync(server, configure: o => o.WhenDisconnected = RedisDisconnectedBehavior.FailFast);
        server.Pause(); // replies cannot come back, so these are surely in flight when the server dies
        Task<long>[] inFlight = [.. Enumerable.Range(0, 100).Select(_ => client.IncrAsync("n").AsTask())];
        await Eventually.TrueAsync(() => Task.FromResult(client.Pending == 100));
        await server.KillAsync().DefaultTimeout();

        foreach (Task<long> call in inFlight)
        {
            await Assert.ThrowsAsync<RedisConnectionException>(() => call.DefaultTimeout());
        }

        await Assert.ThrowsAsync<RedisConnectionException>(() => client.PingAsync().AsTask().DefaultTimeout());
        await server.StartAgainAsync().DefaultTimeout();
        await Eventually.TrueAsync(() => Task.FromResult(client.IsConnected));
        await client.PingAsync().DefaultTimeout();
    }

    [Fact]
    public async Task WhileDisconnected_CommandsWaitForTheReconnect_WithinTheBound()
    {
        await using RedisServer server = await RedisServer.StartAsync().DefaultTimeout();
        await using RedisClient client = await TestClients.ConnectAsync(server, configure: o => o.DisconnectedWaitTimeout = TimeSpan.FromSeconds(5));
        await server.StopAsync().DefaultTimeout();
        await Eventually.TrueAsync(() => Task.FromResult(!client.IsConnected));

        Task<long> waiting = client.IncrAsync("n").AsTask();
        await Task.Delay(200);
        Assert.False(waiting.IsCompleted);
        await server.StartAgainAsync().DefaultTimeout();
        Assert.Equal(1, await waiting.DefaultTimeout());
    }

    [Fact]
    public async Task WhileDisconnected_WaitingIsBoundedInTimeAndCount()
    {
        await using RedisServer server = await RedisServer.StartAsync().DefaultTimeout();
        await using RedisClient client = await TestClients.ConnectAsync(server, configure: o =>
        {
            o.DisconnectedWaitTimeout = TimeSpan.FromMilliseconds(300);
            o.DisconnectedQueueLimit = 2;
        });
        await server.StopAsync().DefaultTimeout();
        await Eventually.TrueAsync(() => Task.FromResult(!client.IsConnected));

        Task first = client.PingAsync().AsTask();
        Task second = client.PingAsync().AsTask();
        await Assert.ThrowsAsync<RedisConnectionException>(() => client.PingAsync().AsTask().DefaultTimeout()); // third: queue full
        var watch = Stopwatch.StartNew();
        await Assert.ThrowsAsync<RedisConnectionException>(() => first.DefaultTimeout());
        await Assert.ThrowsAsync<RedisConnectionException>(() => second.DefaultTimeout());
        Assert.InRange(watch.ElapsedMilliseconds, 0, 2_000);
    }

    [Fact]
    public async Task FrozenServer_TripsTheCommandTimeout_AndRepliesStayMatchedAfterwards()
    {
        await using RedisServer server = await RedisServer.StartAsync().DefaultTimeout();
        await using RedisClient client = await TestClients.ConnectAsync(server, configure: o => o.CommandTimeout = TimeSpan.FromSeconds(1));
        await client.SetAsync("a", "A").DefaultTimeout();
        await client.SetAsync("b", "B").DefaultTimeout();

        server.Pause();
        try
        {
            var watch = Stopwatch.StartNew();
            await Assert.ThrowsAsync<RedisTimeoutException>(() => client.GetAsync("a").AsTask().DefaultTimeout());
            Assert.InRange(watch.ElapsedMilliseconds, 900, 5_000);
            Assert.Equal(1, client.Timeouts);

            // Cancelled at 100 ms, long before its 1 s timeout: it ends cancelled, not timed out (the
            // exception type says which came first, whatever the machine's load).
            using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.GetAsync("a", cts.Token).AsTask().DefaultTimeout());
            Assert.Equal(1, client.Timeouts);
        }
        finally
        {
            server.Resume();
        }

        // The timed-out GETs' replies arrive now and must be thrown away, not handed to the next callers.
        Assert.Equal("B", await client.GetAsync("b").DefaultTimeout());
        Assert.Equal("A", await client.GetAsync("a").DefaultTimeout());
        Assert.Equal(0, client.Pending);
    }

    [Fact]
    public async Task KillingThePubSubConnection_Resubscribes_AndRaisesMessagesMayHaveBeenLost()
    {
        await using RedisServer server = await RedisServer.StartAsync().DefaultTimeout();
        await using RedisClient client = await TestClients.ConnectAsync(server);
        var lost = new TaskCompletionSource<IReadOnlyList<string>>(TaskCreationOptions.RunContinuationsAsynchronously);
        client.Subscriber.MessagesMayHaveBeenLost += channels => lost.TrySetResult(channels);
        var got = new ConcurrentQueue<string>();
        await using IAsyncDisposable a = await client.Subscriber.SubscribeAsync("a", (_, m) => { got.Enqueue("a:" + Encoding.UTF8.GetString(m.Span)); return ValueTask.CompletedTask; }).DefaultTimeout();
        await using IAsyncDisposable b = await client.Subscriber.SubscribeAsync("b", (_, m) => { got.Enqueue("b:" + Encoding.UTF8.GetString(m.Span)); return ValueTask.CompletedTask; }).DefaultTimeout();

        RedisReply killed = await client.ExecuteAsync("CLIENT", "KILL", "TYPE", "pubsub").DefaultTimeout();
        Assert.Equal(1, killed.AsInt64());

        Assert.Equal(["a", "b"], (await lost.Task.DefaultTimeout()).Order());
        Assert.Equal(1, client.Subscriber.Reconnects);
        Assert.Equal(1, await client.PublishAsync("a", "1").DefaultTimeout());
        Assert.Equal(1, await client.PublishAsync("b", "2").DefaultTimeout());
        await Eventually.TrueAsync(() => Task.FromResult(got.Contains("a:1") && got.Contains("b:2")));
        Assert.Equal(0, client.Reconnects); // the interactive connection was not touched
    }

    [Fact]
    public async Task KillingTheInteractiveConnection_FailsNothingQueuedLater_AndReconnects()
    {
        await using RedisServer server = await RedisServer.StartAsync().DefaultTimeout();
        await using RedisClient client = await TestClients.ConnectAsync(server, configure: o => o.ClientName = "victim");
        await using RedisClient killer = await TestClients.ConnectAsync(server);
        await killer.ExecuteAsync("CLIENT", "KILL", "USER", "default", "SKIPME", "yes").DefaultTimeout();
        await Eventually.TrueAsync(async () =>
        {
            try
            {
                await client.PingAsync();
                return client.Reconnects == 1;
            }
            catch (RedisConnectionException)
            {
                return false;
            }
        });
        Assert.Contains("name=victim", (await client.ExecuteAsync("CLIENT", "INFO").DefaultTimeout()).AsString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AppendOnlyServer_KeepsStreamsAcrossARestart()
    {
        await using RedisServer server = await RedisServer.StartAsync(new RedisServerOptions { AppendOnly = true }).DefaultTimeout();
        await using RedisClient client = await TestClients.ConnectAsync(server);
        string id = await client.XAddAsync("events:1", [("seq", 1)]).DefaultTimeout();

        await server.RestartAsync().DefaultTimeout();

        await Eventually.TrueAsync(() => Task.FromResult(client.IsConnected));
        IReadOnlyList<RedisStreamEntry> entries = await client.XRangeAsync("events:1").DefaultTimeout();
        Assert.Equal([id], entries.Select(e => e.Id));
        Assert.True(File.Exists(Path.Combine(server.Directory, "appendonlydir", "appendonly.aof.manifest")));
    }

    [Fact]
    public async Task ASocketThatStaysSilent_IsDeclaredDead_AndReplacedOnceTheServerAnswersAgain()
    {
        await using RedisServer server = await RedisServer.StartAsync().DefaultTimeout();
        await using RedisClient client = await TestClients.ConnectAsync(server, configure: o =>
        {
            o.CommandTimeout = TimeSpan.FromMilliseconds(200);
            o.ConnectTimeout = TimeSpan.FromMilliseconds(300);
            o.DeadConnectionTimeout = TimeSpan.FromMilliseconds(600);
        });

        server.Pause();
        try
        {
            await Assert.ThrowsAsync<RedisTimeoutException>(() => client.PingAsync().AsTask().DefaultTimeout());
            await Eventually.TrueAsync(() => Task.FromResult(!client.IsConnected), because: "the silent connection is torn down");
        }
        finally
        {
            server.Resume();
        }

        // The timeouts are tight on purpose; on a loaded machine one more ping may miss its 200 ms
        // (and a 600 ms silence may replace the connection again), so a ping answered is the test.
        await Eventually.TrueAsync(async () =>
        {
            if (!client.IsConnected) return false;
            try
            {
                await client.PingAsync();
                return true;
            }
            catch (Exception ex) when (ex is RedisTimeoutException or RedisConnectionException)
            {
                return false;
            }
        }, because: "a ping is answered on the replaced connection");
        Assert.True(client.Reconnects >= 1, "the silent connection was replaced");
    }

    [Fact]
    public async Task DisposingClients_ClosesEveryConnectionTheyOpened()
    {
        await using RedisServer server = await RedisServer.StartAsync().DefaultTimeout();
        await using RedisClient observer = await TestClients.ConnectAsync(server);
        for (int i = 0; i < 10; i++)
        {
            RedisClient client = await TestClients.ConnectAsync(server);
            await using IAsyncDisposable sub = await client.Subscriber.SubscribeAsync("c", (_, _) => ValueTask.CompletedTask).DefaultTimeout();
            Task blocked = client.XReadBlockingAsync("s", "$", blockMilliseconds: 0).AsTask();
            await client.XReadBlockingAsync("s", "0", blockMilliseconds: 10).DefaultTimeout(); // a pooled idle one too
            await client.DisposeAsync().DefaultTimeout();
            Exception ended = await Assert.ThrowsAnyAsync<Exception>(() => blocked.DefaultTimeout()); // the in-flight blocking read ends too
            Assert.True(ended is RedisConnectionException or ObjectDisposedException, ended.ToString());
            await Assert.ThrowsAsync<ObjectDisposedException>(() => client.PingAsync().AsTask().DefaultTimeout());
        }

        await Eventually.TrueAsync(async () =>
        {
            string info = (await observer.ExecuteAsync("INFO", "clients")).AsString()!;
            return info.Contains("connected_clients:1\r\n", StringComparison.Ordinal);
        }, because: "only the observer is left connected");
    }
}
