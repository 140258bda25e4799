using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using RealtimeAgents.Conformance;
using RealtimeAgents.Core;
using RealtimeAgents.Core.Redis;
using RealtimeAgents.Redis;
using RealtimeAgents.Testing;
using Xunit;

namespace RealtimeAgents.Core.Redis.Tests;

/// <summary>One real redis-server per test class and one client; each store gets a fresh key prefix.</summary>
public sealed class RedisStoreFixture : IAsyncLifetime
{
    private RedisServer? _server;
    public RedisClient Client { get; private set; } = null!;
    public RedisServer Server => _server!;

    public async Task InitializeAsync()
    {
        _server = await RedisServer.StartAsync();
        Client = await RedisClient.ConnectAsync(_server.ConnectionString).DefaultTimeout();
    }

    public RedisKeys NewKeys() => new(RedisServer.UniquePrefix());

    public async Task DisposeAsync()
    {
        await Client.DisposeAsync().AsTask().DefaultTimeout();
        await _server!.DisposeAsync().AsTask().DefaultTimeout();
    }
}

public sealed class RedisEventLogConformance(RedisStoreFixture redis) : EventLogConformance, IClassFixture<RedisStoreFixture>
{
    // MAXLEN ~ trims whole stream nodes (100 entries each by default).
    protected override int TrimSlack => 100;

    protected override Task<IEventLog> CreateLogAsync(EventLogOptions options) =>
        Task.FromResult<IEventLog>(new RedisEventLog(redis.Client, redis.NewKeys(), Options.Create(options), NullLogger<RedisEventLog>.Instance));
}

public sealed class RedisTaskQueueConformance(RedisStoreFixture redis) : TaskQueueConformance, IClassFixture<RedisStoreFixture>
{
    protected override Task<ITaskQueue> CreateQueueAsync(TaskQueueOptions options) =>
        Task.FromResult<ITaskQueue>(new RedisTaskQueue(redis.Client, redis.NewKeys(), Options.Create(options)));
}

public sealed class RedisControlChannelConformance(RedisStoreFixture redis) : ControlChannelConformance, IClassFixture<RedisStoreFixture>
{
    protected override Task<IControlChannel> CreateChannelAsync() =>
        Task.FromResult<IControlChannel>(new RedisControlChannel(redis.Client, redis.NewKeys()));
}

public sealed class RedisTaskStoreConformance(RedisStoreFixture redis) : TaskStoreConformance, IClassFixture<RedisStoreFixture>
{
    protected override Task<ITaskStore> CreateStoreAsync() =>
        Task.FromResult<ITaskStore>(new RedisTaskStore(redis.Client, redis.NewKeys(),
            Options.Create(new RedisStoreOptions()), Options.Create(new EventLogOptions())));
}
