using Microsoft.Extensions.AI;

namespace RealtimeAgents.Agents.Llm;

/// <summary>
/// A piece of a tool call as the model streams it: the first piece of a call carries its id and
/// name, later ones carry pieces of the JSON arguments. <see cref="Microsoft.Extensions.AI"/> has
/// no streamed form of <see cref="FunctionCallContent"/>, and tool.args must go out as the model
/// writes them, so <see cref="ChatCompletionsClient"/> emits these while streaming and one
/// complete <see cref="FunctionCallContent"/> per call after the stream ends.
/// </summary>
/// <param name="index">Which of the response's tool calls this piece belongs to.</param>
public sealed class ToolCallDeltaContent(int index) : AIContent
{
    /// <summary>Which of the response's tool calls this piece belongs to (0, 1, …).</summary>
    public int Index { get; } = index;

    /// <summary>The call's id, on its first piece.</summary>
    public string? CallId { get; init; }

    /// <summary>The tool's name, on its first piece.</summary>
    public string? Name { get; init; }

    /// <summary>A piece of the JSON arguments.</summary>
    public string? ArgumentsDelta { get; init; }
}
