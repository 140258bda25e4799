using System.Collections.Concurrent;
using System.Text;

namespace RealtimeAgents.Redis.Tests;

public class SubscriberTests(RedisServerFixture redis) : IClassFixture<RedisServerFixture>
{
    public static TheoryData<RedisProtocol> Protocols => [RedisProtocol.Resp2, RedisProtocol.Resp3];

    [Theory]
    [MemberData(nameof(Protocols))]
    public async Task Messages_OfAChannel_ArriveInPublishOrder_EvenWithSlowAsyncHandlers(RedisProtocol protocol)
    {
        await using RedisClient client = await TestClients.ConnectAsync(redis.Server, protocol);
        string channel = RedisServer.UniquePrefix() + "ch";
        var received = new List<int>();
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        int inHandler = 0;
        await using IAsyncDisposable sub = await client.Subscriber.SubscribeAsync(channel, async (ch, message) =>
        {
            Assert.Equal(1, Interlocked.Increment(ref inHandler)); // never two at once for one channel
            int n = int.Parse(Encoding.UTF8.GetString(message.Span), System.Globalization.CultureInfo.InvariantCulture);
            if (n % 50 == 0)
            {
                await Task.Delay(5);
            }

            received.Add(n);
            Interlocked.Decrement(ref inHandler);
            if (n == 500)
            {
                done.TrySetResult();
            }
        }).DefaultTimeout();

        for (int i = 1; i <= 500; i++)
        {
            _ = client.PublishAsync(channel, i);
        }

        await done.Task.DefaultTimeout();
        Assert.Equal(Enumerable.Range(1, 500), received);
    }

    [Fact]
    public async Task Handlers_AreReferenceCounted_FirstSubscribes_LastUnsubscribes()
    {
        await using RedisClient client = await TestClients.ConnectAsync(redis.Server);
        string channel = RedisServer.UniquePrefix() + "ch";
        var first = new ConcurrentQueue<string>();
        var second = new ConcurrentQueue<string>();

        IAsyncDisposable a = await client.Subscriber.SubscribeAsync(channel, (_, m) => { first.Enqueue(Encoding.UTF8.GetString(m.Span)); return ValueTask.CompletedTask; }).DefaultTimeout();
        IAsyncDisposable b = await client.Subscriber.SubscribeAsync(channel, (_, m) => { second.Enqueue(Encoding.UTF8.GetString(m.Span)); return ValueTask.CompletedTask; }).DefaultTimeout();
        Assert.Equal(1, await NumSub(client, channel));

        Assert.Equal(1, await client.PublishAsync(channel, "both").DefaultTimeout());
        await Eventually.TrueAsync(() => Task.FromResult(first.Count == 1 && second.Count == 1));

        await a.DisposeAsync().DefaultTimeout();
        Assert.Equal(1, await NumSub(client, channel));
        await client.PublishAsync(channel, "only-second").DefaultTimeout();
        await Eventually.TrueAsync(() => Task.FromResult(second.Count == 2));
        Assert.Single(first);

        await b.DisposeAsync().DefaultTimeout();
        await b.DisposeAsync().DefaultTimeout(); // idempotent
        Assert.Equal(0, await NumSub(client, channel));
        Assert.Empty(client.Subscriber.Channels);
    }

    [Fact]
    public async Task AThrowingHandler_IsLogged_AndDeliveryContinues()
    {
        await using RedisClient client = await TestClients.ConnectAsync(redis.Server);
        string channel = RedisServer.UniquePrefix() + "ch";
        var seen = new ConcurrentQueue<string>();
        await using IAsyncDisposable sub = await client.Subscriber.SubscribeAsync(channel, (_, m) =>
        {
            string text = Encoding.UTF8.GetString(m.Span);
            seen.Enqueue(text);
            return text == "boom" ? throw new InvalidOperationException("handler bug") : ValueTask.CompletedTask;
        }).DefaultTimeout();

        await client.PublishAsync(channel, "boom").DefaultTimeout();
        await client.PublishAsync(channel, "after").DefaultTimeout();
        await Eventually.TrueAsync(() => Task.FromResult(seen.Contains("after")));
    }

    [Fact]
    public async Task ASlowChannel_DoesNotHoldUpAnother()
    {
        await using RedisClient client = await TestClients.ConnectAsync(redis.Server);
        string p = RedisServer.UniquePrefix();
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var fastGot = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using IAsyncDisposable slow = await client.Subscriber.SubscribeAsync(p + "slow", async (_, _) => await release.Task).DefaultTimeout();
        await using IAsyncDisposable fast = await client.Subscriber.SubscribeAsync(p + "fast", (_, _) => { fastGot.TrySetResult(); return ValueTask.CompletedTask; }).DefaultTimeout();

        await client.PublishAsync(p + "slow", "stuck").DefaultTimeout();
        await client.PublishAsync(p + "fast", "go").DefaultTimeout();
        await fastGot.Task.DefaultTimeout();
        release.SetResult();
    }

    private static async Task<long> NumSub(RedisClient client, string channel)
    {
        RedisReply reply = await client.ExecuteAsync("PUBSUB", "NUMSUB", channel).DefaultTimeout();
        return reply[1].AsInt64();
    }
}
