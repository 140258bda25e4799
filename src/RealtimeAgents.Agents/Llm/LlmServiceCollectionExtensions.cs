using Microsoft.Extensions.AI;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using RealtimeAgents.Agents.Llm.Tools;
using RealtimeAgents.Core;

namespace RealtimeAgents.Agents.Llm;

/// <summary>Registration of the llm agent.</summary>
public static class LlmServiceCollectionExtensions
{
    /// <summary>
    /// Registers the agent "llm", its options (section <c>RealtimeAgents:Llm</c> of the host's
    /// configuration, then <paramref name="configure"/>, then <c>OPENAI_API_KEY</c> /
    /// <c>OPENAI_BASE_URL</c> for what is still unset), the built-in tools, and a
    /// <see cref="ChatCompletionsClient"/> as the keyed <see cref="IChatClient"/>
    /// <see cref="LlmAgent.ChatClientKey"/> unless one is registered already. Nothing is checked
    /// at startup: a missing key fails the task with bad_api_key, not the host.
    /// </summary>
    public static IServiceCollection AddLlmAgent(this IServiceCollection services, Action<LlmOptions>? configure = null)
    {
        var options = services.AddOptions<LlmOptions>()
            .Configure<IServiceProvider>((o, sp) => sp.GetService<IConfiguration>()?.GetSection(LlmOptions.Section).Bind(o));
        if (configure is not null) options.Configure(configure);
        options.PostConfigure<IServiceProvider>((o, sp) =>
        {
            if (sp.GetService<IConfiguration>() is { } configuration) o.ApplyFallbacks(configuration);
        });

        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<NotepadStore>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<ILlmTool, CalculatorTool>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<ILlmTool, CurrentTimeTool>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<ILlmTool, NotepadTool>());
        services.TryAddKeyedSingleton<IChatClient>(LlmAgent.ChatClientKey,
            (sp, _) => new ChatCompletionsClient(sp.GetRequiredService<IOptions<LlmOptions>>().Value));
        return services.AddAgent<LlmAgent>("llm", o => LlmTaskOptions.Parse(o));
    }
}
