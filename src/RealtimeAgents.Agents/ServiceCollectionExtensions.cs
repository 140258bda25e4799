using Microsoft.Extensions.DependencyInjection;
using RealtimeAgents.Core;

namespace RealtimeAgents.Agents;

/// <summary>Registration of the built-in agents.</summary>
public static class AgentsServiceCollectionExtensions
{
    /// <summary>Registers the demo agent as "demo".</summary>
    public static IServiceCollection AddBuiltInAgents(this IServiceCollection services) =>
        services.AddAgent<DemoAgent>("demo", options => DemoAgentOptions.Parse(options));
}
