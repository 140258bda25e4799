using System.Text.Json;
using RealtimeAgents.Core;

namespace RealtimeAgents.Agents;

/// <summary>
/// Knobs of the demo agent, read from the task's options object (camelCase). Out-of-range
/// values are refused with a clear message before anything is written.
/// </summary>
public sealed record DemoAgentOptions
{
    /// <summary>Answer tokens (1–100,000; default 60).</summary>
    public int Tokens { get; init; } = 60;
    /// <summary>Pause between answer tokens (0–10,000 ms; default 40).</summary>
    public int TokenIntervalMs { get; init; } = 40;
    /// <summary>Pause before the first answer token, like a model's latency (0–60,000 ms; default 300).</summary>
    public int FirstTokenDelayMs { get; init; } = 300;
    /// <summary>Tool calls before answering (0–10; default 2).</summary>
    public int ToolCalls { get; init; } = 2;
    /// <summary>Pause for each tool to "run" (0–60,000 ms; default 250).</summary>
    public int ToolDelayMs { get; init; } = 250;
    /// <summary>Write a reasoning block first (default true).</summary>
    public bool Reasoning { get; init; } = true;
    /// <summary>Throw after this many answer tokens (default: never).</summary>
    public int? FailAfter { get; init; }
    /// <summary>Answer in Markdown (a heading, a list, a table and a code block) instead of prose (default false).</summary>
    public bool Markdown { get; init; }
    /// <summary>Stream exactly this answer, word by word, instead of a plan (for UI tests; up to 20,000 characters).</summary>
    public string? Answer { get; init; }
    /// <summary>Ask a person to approve each tool call before it runs (default false).</summary>
    public bool RequireApproval { get; init; }
    /// <summary>How long each approval waits before it is denied with reason "timeout" (1–3,600,000 ms; default: the worker's).</summary>
    public int? ApprovalTimeoutMs { get; init; }

    /// <summary>Parses the options object; unknown members are ignored.</summary>
    public static DemoAgentOptions Parse(JsonElement? options)
    {
        var o = new DemoAgentOptions();
        if (options is not { ValueKind: JsonValueKind.Object } json) return o;
        return o with
        {
            Tokens = Int(json, "tokens", 1, 100_000) ?? o.Tokens,
            TokenIntervalMs = Int(json, "tokenIntervalMs", 0, 10_000) ?? o.TokenIntervalMs,
            FirstTokenDelayMs = Int(json, "firstTokenDelayMs", 0, 60_000) ?? o.FirstTokenDelayMs,
            ToolCalls = Int(json, "toolCalls", 0, 10) ?? o.ToolCalls,
            ToolDelayMs = Int(json, "toolDelayMs", 0, 60_000) ?? o.ToolDelayMs,
            Reasoning = Bool(json, "reasoning") ?? o.Reasoning,
            FailAfter = Int(json, "failAfter", 0, 100_000),
            Markdown = Bool(json, "markdown") ?? o.Markdown,
            Answer = json.TryGetProperty("answer", out var a) && a.ValueKind != JsonValueKind.Null
                ? a.ValueKind == JsonValueKind.String && a.GetString() is { Length: > 0 and <= 20_000 } text
                    ? text
                    : throw RealtimeAgentsException.Invalid("Option 'answer' must be a string of 1 to 20,000 characters.")
                : null,
            RequireApproval = Bool(json, "requireApproval") ?? false,
            ApprovalTimeoutMs = Int(json, "approvalTimeoutMs", 1, 3_600_000),
        };
    }

    private static bool? Bool(JsonElement json, string name) =>
        !json.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null ? null : v.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw RealtimeAgentsException.Invalid($"Option '{name}' must be true or false."),
        };

    private static int? Int(JsonElement json, string name, int min, int max)
    {
        if (!json.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt32(out int i) || i < min || i > max)
        {
            throw RealtimeAgentsException.Invalid($"Option '{name}' must be a whole number from {min} to {max}.");
        }
        return i;
    }
}
