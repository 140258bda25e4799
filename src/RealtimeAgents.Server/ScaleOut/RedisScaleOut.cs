using System.Reflection;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.StackExchangeRedis;
using StackExchange.Redis;

namespace RealtimeAgents.Server.ScaleOut;

/// <summary>
/// SignalR scale-out for Redis mode: the official backplane (<c>AddStackExchangeRedis</c>) on the
/// process's one <see cref="IConnectionMultiplexer"/>, the one the stores use, with its channels
/// under the product's key prefix.
/// </summary>
public static class RedisScaleOut
{
    /// <summary>Adds the official Redis backplane, sharing the registered multiplexer.</summary>
    public static ISignalRServerBuilder AddRealtimeAgentsRedisBackplane(this ISignalRServerBuilder signalR, string channelPrefix)
    {
        ArgumentNullException.ThrowIfNull(signalR);
        signalR.AddStackExchangeRedis(o => o.Configuration.ChannelPrefix = RedisChannel.Literal(channelPrefix));
        // The backplane connects when it is created, from its options: they hand it the container's multiplexer.
        signalR.Services.AddOptions<RedisOptions>().Configure<IServiceProvider>((o, services) =>
            o.ConnectionFactory = _ => Task.FromResult(SharedMultiplexer.Wrap(services.GetRequiredService<IConnectionMultiplexer>())));
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
