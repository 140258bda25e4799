using RealtimeAgents.Contracts;

namespace RealtimeAgents.Core.Runtime;

/// <summary>
/// An agent: runs one task, writing what it does through <see cref="AgentContext"/>. It honours
/// the token (an interrupt cancels it); the runtime closes whatever blocks it left open and writes
/// the one terminal event, so an agent only returns its result or throws.
/// </summary>
public interface IAgent
{
    /// <summary>Runs the task to its answer.</summary>
    Task<AgentResult> RunAsync(AgentContext context, CancellationToken cancellationToken);
}

/// <summary>What an agent answers.</summary>
/// <param name="Output">The final answer, as it will appear in task.completed.</param>
/// <param name="Usage">Token counts when a model reports them.</param>
public sealed record AgentResult(string Output, UsageData? Usage = null);

/// <summary>
/// An error the agent wants the user to read as is, with a machine-readable code (the runtime
/// reports any other exception as "agent_error" with its message).
/// </summary>
public sealed class AgentException(string code, string message, Exception? inner = null) : Exception(message, inner)
{
    /// <summary>Machine-readable: bad_api_key, rate_limited, context_too_long, …</summary>
    public string Code { get; } = code;
}

/// <summary>Agents by name. Registered with <c>AddAgent</c>; created per task from DI.</summary>
public sealed class AgentRegistry(IEnumerable<AgentRegistration> registrations, IServiceProvider services) : IAgentCatalog
{
    private readonly Dictionary<string, AgentRegistration> _byName =
        registrations.GroupBy(r => r.Name, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Last(), StringComparer.Ordinal);

    /// <summary>Registered names, sorted.</summary>
    public IReadOnlyList<string> Names => [.. _byName.Keys.Order(StringComparer.Ordinal)];

    /// <summary>True when <paramref name="name"/> is registered.</summary>
    public bool Contains(string name) => _byName.ContainsKey(name);

    /// <summary>Checks a task's options for the agent before the task is created; throws RealtimeAgentsException.</summary>
    public void ValidateOptions(string name, System.Text.Json.JsonElement? options) =>
        _byName.GetValueOrDefault(name)?.ValidateOptions?.Invoke(options);

    /// <summary>A new instance of the agent.</summary>
    public IAgent Create(string name) =>
        _byName.TryGetValue(name, out var r) ? r.Factory(services) : throw new KeyNotFoundException($"Unknown agent '{name}'.");
}

/// <summary>One named agent, how to make it, and how to check its options at submit time.</summary>
public sealed record AgentRegistration(string Name, Func<IServiceProvider, IAgent> Factory,
    Action<System.Text.Json.JsonElement?>? ValidateOptions = null);
