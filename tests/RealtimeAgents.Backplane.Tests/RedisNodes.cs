using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using RealtimeAgents.Redis;
using RealtimeAgents.Server.Backplane;
using RealtimeAgents.Testing;

namespace RealtimeAgents.Backplane.Tests;

/// <summary>
/// Hub nodes on one real redis-server, each a container of its own with its own RedisClient (as separate
/// processes would have), all on one channel prefix unique to the test.
/// </summary>
public sealed class RedisNodes(RedisServer server) : IAsyncDisposable
{
    private readonly List<ServiceProvider> _providers = [];
    private RedisClient? _probe;

    public string Prefix { get; } = RedisServer.UniquePrefix();

    public RedisServer Server { get; } = server;

    public RedisHubLifetimeManager<TestHub> Create(Action<RedisBackplaneOptions>? configure = null, ILoggerProvider? logs = null,
        Action<IServiceCollection>? register = null)
    {
        var services = new ServiceCollection().AddLogging(b =>
        {
            if (logs is not null)
            {
                b.AddProvider(logs);
            }
        });
        services.AddSignalR().AddRedisBackplane(o =>
        {
            o.ClientFactory = (loggerFactory, ct) => RedisClient.ConnectAsync(Server.ConnectionString, loggerFactory, ct);
            o.ChannelPrefix = Prefix;
            configure?.Invoke(o);
        });
        register?.Invoke(services);
        ServiceProvider provider = services.BuildServiceProvider();
        _providers.Add(provider);
        return (RedisHubLifetimeManager<TestHub>)provider.GetRequiredService<HubLifetimeManager<TestHub>>();
    }

    /// <summary>The channel name docs/backplane.md documents, spelled out independently of the code that builds it.</summary>
    public string Channel(string kind, string name) => Prefix + typeof(TestHub).FullName + ":" + kind + ":" + name;

    /// <summary>A plain client for PUBSUB NUMSUB, PUBLISH and CLIENT KILL from the side.</summary>
    public async Task<RedisClient> ProbeAsync() => _probe ??= await RedisClient.ConnectAsync(Server.ConnectionString).DefaultTimeout();

    public async Task<long> SubscriberCountAsync(string kind, string name)
    {
        RedisClient probe = await ProbeAsync();
        RedisReply reply = await probe.ExecuteAsync("PUBSUB", ["NUMSUB", Channel(kind, name)]).AsTask().DefaultTimeout();
        return reply[1].AsInt64();
    }

    public async ValueTask DisposeAsync()
    {
        foreach (ServiceProvider provider in _providers)
        {
            await provider.DisposeAsync().AsTask().DefaultTimeout();
        }

        if (_probe is not null)
        {
            await _probe.DisposeAsync().AsTask().DefaultTimeout();
        }
    }
}
