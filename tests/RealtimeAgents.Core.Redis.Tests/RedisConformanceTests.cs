using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using RealtimeAgents.Conformance;
using RealtimeAgents.Core;
using RealtimeAgents.Core.Redis;
using RealtimeAgents.Testing;
using StackExchange.Redis;
using Xunit;

namespace RealtimeAgents.Core.Redis.Tests;

/// <summary>A Redis deployment for the conformance suites: one multiplexer, a fresh key prefix per store.</summary>
public abstract class RedisStores : IAsyncLifetime
{
    public IConnectionMultiplexer Multiplexer { get; private set; } = null!;

    protected abstract Task<string> StartAsync();

    protected abstract Task StopAsync();

    public async Task InitializeAsync() =>
        Multiplexer = await ConnectionMultiplexer.ConnectAsync(await StartAsync()).DefaultTimeout(30_000);

    public RedisKeys NewKeys() => new(RedisServer.UniquePrefix());

    public IEventLog Log(EventLogOptions options) =>
        new RedisEventLog(Multiplexer, NewKeys(), Options.Create(options), NullLogger<RedisEventLog>.Instance);

    public ITaskQueue Queue(TaskQueueOptions options) => new RedisTaskQueue(Multiplexer, NewKeys(), Options.Create(options));

    public IControlChannel Control() => new RedisControlChannel(Multiplexer, NewKeys());

    public ITaskStore Store() => new RedisTaskStore(Multiplexer, NewKeys(), Options.Create(new RedisStoreOptions()), Options.Create(new EventLogOptions()));

    public async Task DisposeAsync()
    {
        if (Multiplexer is not null) await Multiplexer.DisposeAsync().AsTask().DefaultTimeout();
        await StopAsync().DefaultTimeout(30_000);
    }
}

/// <summary>One redis-server per test class.</summary>
public sealed class SingleRedis : RedisStores
{
    private RedisServer? _server;

    protected override async Task<string> StartAsync() => (_server = await RedisServer.StartAsync()).ConnectionString;

    protected override async Task StopAsync()
    {
        if (_server is not null) await _server.DisposeAsync();
    }
}

/// <summary>One 3-master Redis Cluster per test class: every script must stay in one slot.</summary>
public sealed class ClusterRedis : RedisStores
{
    private RedisCluster? _cluster;

    protected override async Task<string> StartAsync() => (_cluster = await RedisCluster.StartAsync(masters: 3)).ConnectionString;

    protected override async Task StopAsync()
    {
        if (_cluster is not null) await _cluster.DisposeAsync();
    }
}

public sealed class RedisEventLogConformance(SingleRedis redis) : EventLogConformance, IClassFixture<SingleRedis>
{
    // MAXLEN ~ trims whole stream nodes (100 entries each by default).
    protected override int TrimSlack => 100;
    protected override Task<IEventLog> CreateLogAsync(EventLogOptions options) => Task.FromResult(redis.Log(options));
}

public sealed class RedisTaskQueueConformance(SingleRedis redis) : TaskQueueConformance, IClassFixture<SingleRedis>
{
    protected override Task<ITaskQueue> CreateQueueAsync(TaskQueueOptions options) => Task.FromResult(redis.Queue(options));
}

public sealed class RedisControlChannelConformance(SingleRedis redis) : ControlChannelConformance, IClassFixture<SingleRedis>
{
    protected override Task<IControlChannel> CreateChannelAsync() => Task.FromResult(redis.Control());
}

public sealed class RedisTaskStoreConformance(SingleRedis redis) : TaskStoreConformance, IClassFixture<SingleRedis>
{
    protected override Task<ITaskStore> CreateStoreAsync() => Task.FromResult(redis.Store());
}

public sealed class ClusterEventLogConformance(ClusterRedis redis) : EventLogConformance, IClassFixture<ClusterRedis>
{
    protected override int TrimSlack => 100;
    protected override Task<IEventLog> CreateLogAsync(EventLogOptions options) => Task.FromResult(redis.Log(options));
}

public sealed class ClusterTaskQueueConformance(ClusterRedis redis) : TaskQueueConformance, IClassFixture<ClusterRedis>
{
    protected override Task<ITaskQueue> CreateQueueAsync(TaskQueueOptions options) => Task.FromResult(redis.Queue(options));
}

public sealed class ClusterControlChannelConformance(ClusterRedis redis) : ControlChannelConformance, IClassFixture<ClusterRedis>
{
    protected override Task<IControlChannel> CreateChannelAsync() => Task.FromResult(redis.Control());
}

public sealed class ClusterTaskStoreConformance(ClusterRedis redis) : TaskStoreConformance, IClassFixture<ClusterRedis>
{
    protected override Task<ITaskStore> CreateStoreAsync() => Task.FromResult(redis.Store());
}
