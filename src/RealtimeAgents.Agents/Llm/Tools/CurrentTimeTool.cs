using System.Globalization;
using System.Text.Json;
using RealtimeAgents.Core.Runtime;

namespace RealtimeAgents.Agents.Llm.Tools;

/// <summary>The current date and time, in UTC or in an IANA time zone (Europe/Lisbon, America/New_York, …).</summary>
public sealed class CurrentTimeTool(TimeProvider time) : ILlmTool
{
    /// <inheritdoc />
    public string Name => "current_time";

    /// <inheritdoc />
    public string Description => "Returns the current date and time, in UTC or in the given IANA time zone (e.g. Europe/Lisbon).";

    /// <inheritdoc />
    public JsonElement ParametersSchema { get; } = ToolArgs.Schema("""
        {"type":"object","properties":{"timezone":{"type":"string","description":"An IANA time zone such as Asia/Tokyo; UTC when omitted"}}}
        """);

    /// <inheritdoc />
    public ValueTask<JsonElement> InvokeAsync(JsonElement arguments, AgentContext context, CancellationToken cancellationToken)
    {
        string? id = ToolArgs.OptionalString(arguments, "timezone");
        var zone = TimeZoneInfo.Utc;
        if (!string.IsNullOrWhiteSpace(id) && !id.Equals("UTC", StringComparison.OrdinalIgnoreCase))
        {
            try
            {
                zone = TimeZoneInfo.FindSystemTimeZoneById(id.Trim());
            }
            catch (Exception ex) when (ex is TimeZoneNotFoundException or InvalidTimeZoneException)
            {
                throw new LlmToolException($"Unknown time zone '{id}'. Use an IANA name such as Europe/Lisbon.");
            }
        }
        var utc = time.GetUtcNow();
        var local = TimeZoneInfo.ConvertTime(utc, zone);
        return ValueTask.FromResult(JsonSerializer.SerializeToElement(new Dictionary<string, string>
        {
            ["timezone"] = zone == TimeZoneInfo.Utc ? "UTC" : zone.Id,
            ["local"] = local.ToString("yyyy-MM-dd'T'HH:mm:sszzz", CultureInfo.InvariantCulture),
            ["utc"] = utc.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture),
            ["dayOfWeek"] = local.DayOfWeek.ToString(),
        }));
    }
}
