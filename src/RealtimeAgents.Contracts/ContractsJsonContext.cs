using System.Text.Json;
using System.Text.Json.Serialization;

namespace RealtimeAgents.Contracts;

/// <summary>
/// Source-generated JSON for every wire type: camelCase, nulls omitted, so the server, the
/// workers and the .NET SDK read and write the same bytes without reflection.
/// </summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(AgentEvent))]
[JsonSerializable(typeof(TaskStartedData))]
[JsonSerializable(typeof(StatusData))]
[JsonSerializable(typeof(TextData))]
[JsonSerializable(typeof(ToolCallData))]
[JsonSerializable(typeof(ToolResultData))]
[JsonSerializable(typeof(UserMessageData))]
[JsonSerializable(typeof(ToolApprovalData))]
[JsonSerializable(typeof(ApprovalAnswerResult))]
[JsonSerializable(typeof(UsageData))]
[JsonSerializable(typeof(TaskCompletedData))]
[JsonSerializable(typeof(TaskFailedData))]
[JsonSerializable(typeof(TaskCancelledData))]
[JsonSerializable(typeof(SubmitTaskRequest))]
[JsonSerializable(typeof(SubmitTaskResult))]
[JsonSerializable(typeof(SubscribeResult))]
[JsonSerializable(typeof(SendMessageResult))]
[JsonSerializable(typeof(TaskInfo))]
[JsonSerializable(typeof(ThreadTaskNotice))]
[JsonSerializable(typeof(ThreadInfo))]
[JsonSerializable(typeof(SubscriptionEnded))]
[JsonSerializable(typeof(ThreadWatchEnded))]
[JsonSerializable(typeof(HubLimits))]
[JsonSerializable(typeof(JsonElement))]
[JsonSerializable(typeof(string))]
public sealed partial class ContractsJsonContext : JsonSerializerContext;
