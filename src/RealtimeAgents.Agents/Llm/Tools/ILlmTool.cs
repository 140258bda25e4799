using System.Text.Json;
using RealtimeAgents.Core.Runtime;

namespace RealtimeAgents.Agents.Llm.Tools;

/// <summary>
/// A tool the llm agent offers its model. Register one as a singleton <c>ILlmTool</c> in DI and
/// every llm task offers it. The model sees <see cref="Name"/>, <see cref="Description"/> and
/// <see cref="ParametersSchema"/>; the agent calls <see cref="InvokeAsync"/> with the arguments
/// the model wrote and sends what it returns back to the model.
/// </summary>
public interface ILlmTool
{
    /// <summary>The function name the model calls (letters, digits, _ and -).</summary>
    string Name { get; }

    /// <summary>What the tool does, for the model.</summary>
    string Description { get; }

    /// <summary>The JSON schema of the arguments object.</summary>
    JsonElement ParametersSchema { get; }

    /// <summary>
    /// Runs the tool. Throw <see cref="LlmToolException"/> for a refusal the model should read
    /// (bad arguments, nothing found); it becomes a tool.result with isError and the loop goes on.
    /// </summary>
    /// <param name="arguments">The arguments object the model wrote.</param>
    /// <param name="context">The running task (its thread id scopes per-conversation state).</param>
    /// <param name="cancellationToken">Fires on interrupt.</param>
    ValueTask<JsonElement> InvokeAsync(JsonElement arguments, AgentContext context, CancellationToken cancellationToken);
}

/// <summary>A tool's refusal, reported to the model as an error result.</summary>
public sealed class LlmToolException(string message) : Exception(message);

/// <summary>Helpers for reading arguments.</summary>
internal static class ToolArgs
{
    public static JsonElement Schema(string json)
    {
        using var doc = JsonDocument.Parse(json);
        return doc.RootElement.Clone();
    }

    public static string? OptionalString(JsonElement args, string name)
    {
        if (args.ValueKind != JsonValueKind.Object || !args.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        return v.ValueKind == JsonValueKind.String ? v.GetString() : throw new LlmToolException($"'{name}' must be a string.");
    }

    public static string RequiredString(JsonElement args, string name) =>
        OptionalString(args, name) is { Length: > 0 } s ? s : throw new LlmToolException($"'{name}' is required.");
}
