using System.Text.Json;

namespace RealtimeAgents.Core;

/// <summary>
/// The agents a task may name, as a submit is checked against them. The runtime's registry
/// implements it; the task side needs nothing more of the runtime.
/// </summary>
public interface IAgentCatalog
{
    /// <summary>Registered names, sorted.</summary>
    IReadOnlyList<string> Names { get; }

    /// <summary>True when <paramref name="name"/> is registered.</summary>
    bool Contains(string name);

    /// <summary>Checks a task's options for the agent before the task is created; throws RealtimeAgentsException.</summary>
    void ValidateOptions(string name, JsonElement? options);
}
