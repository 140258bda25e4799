using Microsoft.Agents.AI;
using Microsoft.Extensions.DependencyInjection;
using RealtimeAgents.Agents.AgentFramework;
using RealtimeAgents.Core;
using RealtimeAgents.Core.Runtime;

namespace RealtimeAgents.Agents;

/// <summary>Serving Microsoft Agent Framework agents.</summary>
public static class AgentFrameworkServiceCollectionExtensions
{
    /// <summary>
    /// Serves the <see cref="AIAgent"/> that <paramref name="factory"/> makes (once, on first use)
    /// as the agent <paramref name="name"/>: it runs on the workers like the built-in agents, its
    /// streamed updates become the task's events, its session is kept per thread, and calls of
    /// functions wrapped in <c>ApprovalRequiredAIFunction</c> wait for a person's approval.
    /// </summary>
    public static IServiceCollection AddAgent(this IServiceCollection services, string name, Func<IServiceProvider, AIAgent> factory)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(factory);
        AIAgent? agent = null;
        var gate = new object();
        services.AddSingleton(new AgentRegistration(name, sp =>
        {
            lock (gate) agent ??= factory(sp);
            return new AIAgentAdapter(name, agent, sp.GetRequiredService<IThreadStateStore>());
        }));
        return services;
    }
}
