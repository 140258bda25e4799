using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.DependencyInjection;
using RealtimeAgents.Testing;
using Xunit;

namespace RealtimeAgents.Backplane.Tests;

/// <summary>The suite on SignalR's own in-memory manager: the reference for single-node behaviour.</summary>
public sealed class InMemoryBackplaneTests : BackplaneConformance
{
    private readonly List<ServiceProvider> _providers = [];

    protected override Task<HubLifetimeManager<TestHub>> CreateNodeAsync()
    {
        var services = new ServiceCollection().AddLogging();
        services.AddSignalR();
        ServiceProvider provider = services.BuildServiceProvider();
        _providers.Add(provider);
        return Task.FromResult(provider.GetRequiredService<HubLifetimeManager<TestHub>>());
    }

    protected override async Task DisposeNodesAsync()
    {
        foreach (ServiceProvider provider in _providers)
        {
            await provider.DisposeAsync();
        }
    }
}

/// <summary>The suite, scale-out cases included, on our Redis manager: every node here is a separate manager on one redis-server.</summary>
public sealed class RedisBackplaneTests(RedisServerFixture redis) : ScaleoutBackplaneConformance, IClassFixture<RedisServerFixture>
{
    private readonly RedisNodes _nodes = new(redis.Server);

    protected override Task<HubLifetimeManager<TestHub>> CreateNodeAsync() => Task.FromResult<HubLifetimeManager<TestHub>>(_nodes.Create());

    protected override Task<long> SubscriberCountAsync(string kind, string name) => _nodes.SubscriberCountAsync(kind, name);

    protected override Task DisposeNodesAsync() => _nodes.DisposeAsync().AsTask();
}
