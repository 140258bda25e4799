using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using RealtimeAgents.Core.InMemory;
using RealtimeAgents.Core.Relay;
using RealtimeAgents.Core.Runtime;

namespace RealtimeAgents.Core;

/// <summary>Registration of the core services.</summary>
public static class ServiceCollectionExtensions
{
    /// <summary>The relay, the task and thread services, the thread scheduler and the agent registry (stores are added separately).</summary>
    public static IServiceCollection AddRealtimeAgentsCore(this IServiceCollection services)
    {
        services.AddOptions<EventLogOptions>();
        services.AddOptions<TaskQueueOptions>();
        services.AddOptions<TaskOptions>();
        services.AddOptions<RelayOptions>();
        services.AddOptions<WorkerOptions>();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<AgentRegistry>();
        services.TryAddSingleton<IAgentCatalog>(sp => sp.GetRequiredService<AgentRegistry>());
        services.TryAddSingleton<EventRelay>();
        services.TryAddSingleton<TaskService>();
        services.TryAddSingleton<ThreadService>();
        services.TryAddSingleton<IThreadScheduler, ThreadScheduler>();
        return services;
    }

    /// <summary>Event log, task queue, control channel and task store in process memory (embedded mode).</summary>
    public static IServiceCollection AddInMemoryStores(this IServiceCollection services)
    {
        services.TryAddSingleton<IEventLog, InMemoryEventLog>();
        services.TryAddSingleton<ITaskQueue, InMemoryTaskQueue>();
        services.TryAddSingleton<IControlChannel, InMemoryControlChannel>();
        services.TryAddSingleton<ITaskStore, InMemoryTaskStore>();
        services.TryAddSingleton<IThreadStateStore, InMemoryThreadStateStore>();
        services.TryAddSingleton<IApprovalStore, InMemoryApprovalStore>();
        return services;
    }

    /// <summary>Runs agents in this process.</summary>
    public static IServiceCollection AddAgentWorker(this IServiceCollection services)
    {
        services.AddSingleton<AgentWorker>();
        services.AddHostedService(sp => sp.GetRequiredService<AgentWorker>());
        return services;
    }

    /// <summary>Registers an agent under a name.</summary>
    public static IServiceCollection AddAgent<TAgent>(this IServiceCollection services, string name,
        Action<System.Text.Json.JsonElement?>? validateOptions = null) where TAgent : class, IAgent
    {
        services.TryAddTransient<TAgent>();
        services.AddSingleton(new AgentRegistration(name, sp => sp.GetRequiredService<TAgent>(), validateOptions));
        return services;
    }
}
