using System.Reflection;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.StackExchangeRedis;
using Microsoft.Extensions.DependencyInjection.Extensions;
using RealtimeAgents.Server.Hubs;
using StackExchange.Redis;

namespace RealtimeAgents.Server.ScaleOut;

/// <summary>
/// The node's SignalR lifetime manager: SignalR's in-memory one in embedded mode; in Redis mode
/// the official backplane (<see cref="RedisHubLifetimeManager{THub}"/>, what
/// <c>AddStackExchangeRedis</c> registers) on the process's one <see cref="IConnectionMultiplexer"/>,
/// the one the stores use, with its channels under the product's key prefix. Either is seen
/// through <see cref="LocalConnectionsHubLifetimeManager{THub}"/>, so the node knows its own
/// connections (<see cref="LocalConnections{THub}"/>).
/// </summary>
public static class RedisScaleOut
{
    /// <summary>Registers the lifetime manager of the mode, replacing SignalR's default registration once.</summary>
    public static ISignalRServerBuilder AddRealtimeAgentsLifetimeManager(this ISignalRServerBuilder signalR, bool redis, string channelPrefix)
    {
        ArgumentNullException.ThrowIfNull(signalR);
        var services = signalR.Services;
        services.TryAddSingleton(typeof(LocalConnections<>));
        if (redis)
        {
            // The backplane connects when it is created, from its options: they hand it the container's multiplexer.
            services.AddOptions<RedisOptions>().Configure<IServiceProvider>((o, provider) =>
            {
                o.Configuration.ChannelPrefix = RedisChannel.Literal(channelPrefix);
                o.ConnectionFactory = _ => Task.FromResult(SharedMultiplexer.Wrap(provider.GetRequiredService<IConnectionMultiplexer>()));
            });
            services.Replace(ServiceDescriptor.Singleton(typeof(HubLifetimeManager<>), typeof(LocalRedisHubLifetimeManager<>)));
        }
        else
        {
            services.TryAddSingleton(typeof(DefaultHubLifetimeManager<>));
            services.Replace(ServiceDescriptor.Singleton(typeof(HubLifetimeManager<>), typeof(LocalDefaultHubLifetimeManager<>)));
        }
        return signalR;
    }
}

/// <summary>
/// The process's multiplexer as handed to the SignalR backplane, which disposes the connection it
/// was given when it stops: the stores still need it then (a worker in the same process hands its
/// tasks back), so disposal through this view does nothing and the container disposes the real
/// one last.
/// </summary>
public class SharedMultiplexer : DispatchProxy
{
    private IConnectionMultiplexer _inner = null!;

    /// <summary>A view of <paramref name="inner"/> whose Dispose, DisposeAsync and Close do nothing.</summary>
    public static IConnectionMultiplexer Wrap(IConnectionMultiplexer inner)
    {
        var proxy = Create<IConnectionMultiplexer, SharedMultiplexer>();
        ((SharedMultiplexer)(object)proxy)._inner = inner;
        return proxy;
    }

    /// <inheritdoc />
    protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
    {
        ArgumentNullException.ThrowIfNull(targetMethod);
        switch (targetMethod.Name)
        {
            case nameof(IDisposable.Dispose):
            case nameof(IConnectionMultiplexer.Close):
                return null;
            case nameof(IAsyncDisposable.DisposeAsync):
                return ValueTask.CompletedTask;
            case nameof(IConnectionMultiplexer.CloseAsync):
                return Task.CompletedTask;
        }
        try
        {
            return targetMethod.Invoke(_inner, args);
        }
        catch (TargetInvocationException ex) when (ex.InnerException is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(ex.InnerException);
            throw;
        }
    }
}
