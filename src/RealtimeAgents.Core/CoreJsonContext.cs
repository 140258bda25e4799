using System.Text.Json;
using System.Text.Json.Serialization;

namespace RealtimeAgents.Core;

/// <summary>Source-generated JSON for Core's own stored types.</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ControlMessage))]
[JsonSerializable(typeof(AgentThreadState))]
[JsonSerializable(typeof(ApprovalRequest))]
[JsonSerializable(typeof(ApprovalAnswer))]
internal sealed partial class CoreJsonContext : JsonSerializerContext;
