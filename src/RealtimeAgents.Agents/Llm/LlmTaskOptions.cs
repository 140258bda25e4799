using System.Globalization;
using System.Text.Json;
using RealtimeAgents.Core;

namespace RealtimeAgents.Agents.Llm;

/// <summary>
/// Per-task overrides of <see cref="LlmOptions"/>, from the task's options object:
/// <c>{"model", "temperature", "maxTokens", "maxSteps", "requireApproval"}</c>, each optional; unknown members are
/// ignored. Checked at submit time, so a bad value is refused before a task exists.
/// </summary>
internal sealed record LlmTaskOptions(string? Model, float? Temperature, int? MaxTokens, int? MaxSteps)
{
    /// <summary>Ask a person to approve each tool call before it runs.</summary>
    public bool RequireApproval { get; init; }

    public static LlmTaskOptions Parse(JsonElement? options)
    {
        if (options is not { ValueKind: JsonValueKind.Object } json) return new(null, null, null, null);
        string? model = null;
        if (json.TryGetProperty("model", out var m) && m.ValueKind != JsonValueKind.Null)
        {
            model = m.ValueKind == JsonValueKind.String && m.GetString() is { Length: > 0 and <= 200 } s && !s.Any(char.IsControl)
                ? s : throw RealtimeAgentsException.Invalid("Option 'model' must be a model name of 1–200 characters.");
        }
        bool approval = json.TryGetProperty("requireApproval", out var a) && a.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False or JsonValueKind.Null => false,
            _ => throw RealtimeAgentsException.Invalid("Option 'requireApproval' must be true or false."),
        };
        return new(model, ReadTemperature(json), Int(json, "maxTokens", 1, 1_000_000), Int(json, "maxSteps", 1, 32)) { RequireApproval = approval };
    }

    /// <summary>A number, or a numeric string (the web UI passes URL parameters through as strings).</summary>
    private static float? ReadTemperature(JsonElement json)
    {
        if (!json.TryGetProperty("temperature", out var v) || v.ValueKind == JsonValueKind.Null) return null;
        double t = 0;
        bool read = v.ValueKind == JsonValueKind.Number ? v.TryGetDouble(out t)
            : v.ValueKind == JsonValueKind.String && double.TryParse(v.GetString(), NumberStyles.Float, CultureInfo.InvariantCulture, out t);
        return read && t is >= 0 and <= 2 ? (float)t : throw RealtimeAgentsException.Invalid("Option 'temperature' must be a number from 0 to 2.");
    }

    private static int? Int(JsonElement json, string name, int min, int max)
    {
        if (!json.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        return v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out int i) && i >= min && i <= max
            ? i : throw RealtimeAgentsException.Invalid($"Option '{name}' must be a whole number from {min} to {max}.");
    }
}
