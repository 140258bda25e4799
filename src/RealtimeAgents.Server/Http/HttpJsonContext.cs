using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace RealtimeAgents.Server.Http;

/// <summary>201 answer of POST /tasks.</summary>
/// <param name="TaskId">The task.</param>
/// <param name="ThreadId">Its thread.</param>
/// <param name="Status">Its state now (queued, or further along when an idempotency key matched an older task).</param>
/// <param name="EventsUrl">Where its Server-Sent Events stream is.</param>
public sealed record TaskCreatedResponse(string TaskId, string ThreadId, string Status, string EventsUrl);

/// <summary>Optional body of POST /tasks/{id}/interrupt.</summary>
public sealed record InterruptRequest(string? Reason);

/// <summary>Body of POST /tasks/{id}/approvals/{toolCallId}.</summary>
public sealed record ApprovalRequestBody(bool? Approved, string? Reason);

/// <summary>Body of POST /threads/{id}/messages.</summary>
public sealed record SendMessageRequest(string? Text, string? Policy);

/// <summary>Data of the stream.unrecoverable SSE event: the cursor's events are no longer retained.</summary>
public sealed record StreamUnrecoverable(string TaskId, string Cursor, string Reason);

/// <summary>Source-generated JSON of the HTTP-only shapes, with the wire conventions of the contracts.</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(TaskCreatedResponse))]
[JsonSerializable(typeof(InterruptRequest))]
[JsonSerializable(typeof(ApprovalRequestBody))]
[JsonSerializable(typeof(SendMessageRequest))]
[JsonSerializable(typeof(StreamUnrecoverable))]
internal sealed partial class HttpJsonContext : JsonSerializerContext
{
    /// <summary>The same shapes written for people reading curl output: no \u0027 for an apostrophe.</summary>
    public static HttpJsonContext Readable { get; } = new(new JsonSerializerOptions(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    });
}
