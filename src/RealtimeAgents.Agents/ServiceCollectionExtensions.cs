using Microsoft.Extensions.DependencyInjection;
using RealtimeAgents.Agents.Llm;
using RealtimeAgents.Core;

namespace RealtimeAgents.Agents;

/// <summary>Registration of the built-in agents.</summary>
public static class AgentsServiceCollectionExtensions
{
    /// <summary>Registers the demo agent as "demo" and the LLM agent as "llm".</summary>
    public static IServiceCollection AddBuiltInAgents(this IServiceCollection services) =>
        services.AddAgent<DemoAgent>("demo", options => DemoAgentOptions.Parse(options))
            .AddLlmAgent();
}
