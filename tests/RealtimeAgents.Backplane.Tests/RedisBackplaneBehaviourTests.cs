using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Protocol;
using Microsoft.Extensions.DependencyInjection;
using RealtimeAgents.Redis;
using RealtimeAgents.Server.Backplane;
using RealtimeAgents.Testing;
using Xunit;

namespace RealtimeAgents.Backplane.Tests;

/// <summary>What only the Redis manager has: acks with a timeout, reconnects, a wire format, client reuse.</summary>
public sealed class RedisBackplaneBehaviourTests(RedisServerFixture redis) : IClassFixture<RedisServerFixture>, IAsyncLifetime
{
    private readonly RedisNodes _nodes = new(redis.Server);
    private readonly List<(HubLifetimeManager<TestHub> Node, TestConnection Connection)> _connections = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var (node, connection) in _connections)
        {
            await node.OnDisconnectedAsync(connection.Context).DefaultTimeout();
            await connection.DisposeAsync();
        }

        await _nodes.DisposeAsync();
    }

    private async Task<TestConnection> ConnectAsync(HubLifetimeManager<TestHub> node, string? userId = null)
    {
        var connection = new TestConnection(userId);
        await node.OnConnectedAsync(connection.Context).DefaultTimeout();
        _connections.Add((node, connection));
        return connection;
    }

    [Fact]
    public async Task AddToGroup_ForAConnectionNoNodeHas_TimesOutWithAClearError_WithinTheAckTimeout()
    {
        var node = _nodes.Create(o => o.AckTimeout = TimeSpan.FromMilliseconds(300));
        await ConnectAsync(node);

        // The await limit sits well above the 300 ms ack timeout and well below the 5 s default: a manager
        // that ignored the option would fail here, one that honours it has seconds to spare.
        var add = await Assert.ThrowsAsync<TimeoutException>(() => node.AddToGroupAsync("nobody-has-me", "room").DefaultTimeout(3_000));
        var remove = await Assert.ThrowsAsync<TimeoutException>(() => node.RemoveFromGroupAsync("nobody-has-me", "room").DefaultTimeout(3_000));

        Assert.Contains("No hub node acknowledged adding connection 'nobody-has-me' to group 'room' within 300 ms", add.Message, StringComparison.Ordinal);
        Assert.Contains("removing connection 'nobody-has-me' from group 'room'", remove.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AfterTheSubscriberIsKilled_ChannelsComeBack_AndAGroupMessageSentAfterwardsArrives()
    {
        var logs = new CapturedLogs();
        var nodeA = _nodes.Create(logs: logs);
        var nodeB = _nodes.Create();
        var onA = await ConnectAsync(nodeA, "alice");
        await nodeA.AddToGroupAsync(onA.Id, "room").DefaultTimeout();
        await ConnectAsync(nodeB);
        var lost = new TaskCompletionSource<IReadOnlyList<string>>(TaskCreationOptions.RunContinuationsAsynchronously);
        nodeA.Client!.Subscriber.MessagesMayHaveBeenLost += channels => lost.TrySetResult(channels);

        RedisClient probe = await _nodes.ProbeAsync();
        long killed = (await probe.ExecuteAsync("CLIENT", ["KILL", "TYPE", "pubsub"]).AsTask().DefaultTimeout()).AsInt64();
        Assert.True(killed >= 2, $"expected both nodes' subscribers to be killed, got {killed}");

        IReadOnlyList<string> resubscribed = await lost.Task.DefaultTimeout();
        Assert.Contains(_nodes.Channel("group", "room"), resubscribed);
        Assert.Contains(_nodes.Channel("connection", onA.Id), resubscribed);
        Assert.Contains("MessagesMayHaveBeenLost", logs.EventNames);

        await nodeB.SendGroupAsync("room", "message", ["after the reconnect"]).DefaultTimeout();
        await nodeB.SendUserAsync("alice", "message", ["to alice"]).DefaultTimeout();
        await onA.ExpectAsync("after the reconnect");
        await onA.ExpectAsync("to alice");
    }

    [Fact]
    public async Task AnUnreadableMessage_IsDroppedAndLogged_AndTheNextOneIsDelivered()
    {
        var logs = new CapturedLogs();
        var node = _nodes.Create(logs: logs);
        var connection = await ConnectAsync(node);
        RedisClient probe = await _nodes.ProbeAsync();

        await probe.PublishAsync(_nodes.Prefix + typeof(TestHub).FullName + ":all", new byte[] { 1, 200, 200, 200 }).AsTask().DefaultTimeout();
        await probe.PublishAsync(_nodes.Prefix + typeof(TestHub).FullName + ":all", "not a backplane message").AsTask().DefaultTimeout();
        var other = _nodes.Create();
        await other.SendAllAsync("message", ["still working"]).DefaultTimeout();

        await connection.ExpectAsync("still working");
        Assert.Equal(2, logs.EventNames.Count(n => n == "InvalidMessage"));
    }

    [Fact]
    public async Task CamelCasedJson_IsPreservedAcrossTheRedisBoundary()
    {
        var nodeA = _nodes.Create();
        var nodeB = _nodes.Create();
        var onA = await ConnectAsync(nodeA);

        await nodeB.SendConnectionAsync(onA.Id, "event", [new { TaskId = "t1", Seq = 3, Data = new { DeltaText = "hé 🙂" } }]).DefaultTimeout();

        Received received = await onA.ReadAsync();
        Assert.Equal("event", received.Target);
        Assert.Equal("t1", received.Arguments[0].GetProperty("taskId").GetString());
        Assert.Equal(3, received.Arguments[0].GetProperty("seq").GetInt32());
        Assert.Equal("hé 🙂", received.Arguments[0].GetProperty("data").GetProperty("deltaText").GetString());
    }

    [Fact]
    public async Task AMessage_IsSerializedOncePerProtocol_ByTheSender_NotOncePerConnection()
    {
        var countedOnA = new CountingProtocol("counted");
        var countedOnB = new CountingProtocol("counted");
        var nodeA = _nodes.Create(register: s => s.AddSingleton<IHubProtocol>(countedOnA));
        var nodeB = _nodes.Create(register: s => s.AddSingleton<IHubProtocol>(countedOnB));
        var receivers = new List<TestConnection>();
        foreach (var node in new[] { nodeA, nodeB })
        {
            for (int i = 0; i < 3; i++)
            {
                var connection = new TestConnection(protocol: node == nodeA ? countedOnA : countedOnB);
                await node.OnConnectedAsync(connection.Context).DefaultTimeout();
                _connections.Add((node, connection));
                receivers.Add(connection);
            }

            receivers.Add(await ConnectAsync(node)); // and one on plain JSON
        }

        await nodeB.SendAllAsync("message", ["to every protocol"]).DefaultTimeout();

        foreach (TestConnection receiver in receivers)
        {
            await receiver.ExpectAsync("to every protocol");
        }

        Assert.Equal(1, countedOnB.Serializations);
        Assert.Equal(0, countedOnA.Serializations); // node A wrote the frame node B made
    }

    [Fact]
    public async Task ClientResults_AreRefusedClearly()
    {
        var node = _nodes.Create();
        var connection = await ConnectAsync(node);

        var error = await Assert.ThrowsAsync<NotSupportedException>(() =>
            node.InvokeConnectionAsync<int>(connection.Id, "ask", [], CancellationToken.None).DefaultTimeout());
        Assert.Contains("client results", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ARegisteredClient_IsReused_AndOutlivesTheBackplane()
    {
        RedisClient shared = await RedisClient.ConnectAsync(redis.Server.ConnectionString).DefaultTimeout();
        await using var _ = shared;
        var services = new ServiceCollection().AddLogging();
        services.AddSingleton(shared);
        services.AddSignalR().AddRedisBackplane(o => o.ChannelPrefix = _nodes.Prefix);
        var provider = services.BuildServiceProvider();
        var node = (RedisHubLifetimeManager<TestHub>)provider.GetRequiredService<HubLifetimeManager<TestHub>>();
        var connection = new TestConnection();
        await node.OnConnectedAsync(connection.Context).DefaultTimeout();
        await node.AddToGroupAsync(connection.Id, "room").DefaultTimeout();

        Assert.Same(shared, node.Client);
        await node.SendGroupAsync("room", "message", ["shared"]).DefaultTimeout();
        await connection.ExpectAsync("shared");

        await provider.DisposeAsync().AsTask().DefaultTimeout();
        await connection.DisposeAsync();
        await shared.PingAsync().AsTask().DefaultTimeout();
        Assert.DoesNotContain(shared.Subscriber.Channels, c => c.StartsWith(_nodes.Prefix, StringComparison.Ordinal));
    }

    [Fact]
    public async Task WithoutAClientOrAConnectionString_TheFirstCallSaysWhatToConfigure()
    {
        var services = new ServiceCollection().AddLogging();
        services.AddSignalR().AddRedisBackplane();
        await using var provider = services.BuildServiceProvider();
        var node = provider.GetRequiredService<HubLifetimeManager<TestHub>>();

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => node.SendAllAsync("message", ["x"]).DefaultTimeout());
        Assert.Contains("RedisBackplaneOptions.Configuration", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AConnectionString_IsEnoughToRunTheBackplane()
    {
        var services = new ServiceCollection().AddLogging();
        services.AddSignalR().AddRedisBackplane(o =>
        {
            o.Configuration = redis.Server.ConnectionString;
            o.ChannelPrefix = _nodes.Prefix;
        });
        await using var provider = services.BuildServiceProvider();
        var node = provider.GetRequiredService<HubLifetimeManager<TestHub>>();
        var other = _nodes.Create();
        var connection = await ConnectAsync(node);

        await other.SendAllAsync("message", ["via the string"]).DefaultTimeout();
        await connection.ExpectAsync("via the string");
    }
}
