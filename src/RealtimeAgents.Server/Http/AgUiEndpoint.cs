using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;
using RealtimeAgents.Contracts;
using RealtimeAgents.Core;
using RealtimeAgents.Core.Relay;
using RealtimeAgents.Core.Runtime;

namespace RealtimeAgents.Server.Http;

/// <summary>
/// POST /ag-ui and /ag-ui/{agent}: an AG-UI agent endpoint. It takes a RunAgentInput, starts a
/// task with the last user message as input (forwardedProps.options become the agent's options),
/// and streams the task's events mapped to AG-UI (<see cref="AgUiEventMapper"/>) as SSE.
/// The thread is the AG-UI thread; the runId is the task's idempotency key ("ag-ui:" + runId), so
/// posting the same run again follows the same task instead of starting another. The task id is
/// in the X-Task-Id header and in RUN_STARTED's metadata (for interrupting it over REST).
/// A client that disconnects stops reading; the task runs on (interrupt it to stop it).
/// </summary>
internal static class AgUiEndpoint
{
    public const string TaskIdHeader = "X-Task-Id";

    public static async Task<IResult> RunAsync(HttpContext http, string? agent, TaskService tasks, RelayStream stream,
        IOptions<HttpSurfaceOptions> options)
    {
        var caller = TaskEndpoints.CallerOf(http);
        SubmitTaskRequest request;
        string threadId, runId;
        using (var body = await JsonBody.ReadDocumentAsync(http.Request, options.Value.MaxAgUiBodyBytes).ConfigureAwait(false))
        try
        {
            var input = body.RootElement;
            if (input.ValueKind != JsonValueKind.Object) throw RealtimeAgentsException.Invalid("The body must be an AG-UI RunAgentInput object.");
            threadId = RequiredString(input, "threadId");
            runId = RequiredString(input, "runId");
            if (!input.TryGetProperty("messages", out var messages) || messages.ValueKind != JsonValueKind.Array)
            {
                throw RealtimeAgentsException.Invalid("RunAgentInput.messages must be an array of messages.");
            }
            JsonElement? agentOptions = input.TryGetProperty("forwardedProps", out var props) && props.ValueKind == JsonValueKind.Object &&
                props.TryGetProperty("options", out var o) && o.ValueKind != JsonValueKind.Null ? o.Clone() : null;
            request = new SubmitTaskRequest
            {
                Agent = agent ?? options.Value.AgUiDefaultAgent,
                Input = LastUserText(messages) ?? throw RealtimeAgentsException.Invalid("RunAgentInput.messages has no user message to answer."),
                ThreadId = threadId,
                IdempotencyKey = "ag-ui:" + runId,
                Options = agentOptions,
            };
        }
        catch (InvalidOperationException)
        {
            // JsonElement.GetString throws this (not a JsonException) for an escaped unpaired surrogate.
            throw RealtimeAgentsException.Invalid("RunAgentInput has a string that is not valid UTF-16 (an unpaired surrogate escape).");
        }
        // The stream slot is taken first: a caller at its stream limit starts no task it could not watch.
        using var slot = http.RequestServices.GetRequiredService<Auth.EventStreamLimiter>().Acquire(caller);
        TaskEndpoints.CountSubmit(http, caller);
        var accepted = await tasks.SubmitAsync(caller, request, http.RequestAborted).ConfigureAwait(false);
        http.Response.Headers[TaskIdHeader] = accepted.TaskId;
        await stream.RunAsync(http, accepted.TaskId, Cursor.Start, new Format(new AgUiEventMapper(threadId, runId, accepted.TaskId)))
            .ConfigureAwait(false);
        return Results.Empty;
    }

    private static string RequiredString(JsonElement input, string name) =>
        input.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String && v.GetString() is { Length: > 0 } s
            ? s
            : throw RealtimeAgentsException.Invalid($"RunAgentInput.{name} must be a non-empty string.");

    /// <summary>The text of the last message with role user: a string, or its text parts joined.</summary>
    private static string? LastUserText(JsonElement messages)
    {
        for (int i = messages.GetArrayLength() - 1; i >= 0; i--)
        {
            var m = messages[i];
            if (m.ValueKind != JsonValueKind.Object || !m.TryGetProperty("role", out var role) || role.ValueKind != JsonValueKind.String ||
                role.GetString() != "user" || !m.TryGetProperty("content", out var content)) continue;
            if (content.ValueKind == JsonValueKind.String) return content.GetString();
            if (content.ValueKind != JsonValueKind.Array) return null;
            var text = new StringBuilder();
            foreach (var part in content.EnumerateArray())
            {
                if (part.ValueKind == JsonValueKind.Object && part.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String &&
                    t.GetString() == "text" && part.TryGetProperty("text", out var s) && s.ValueKind == JsonValueKind.String)
                {
                    if (text.Length > 0) text.Append('\n');
                    text.Append(s.GetString());
                }
            }
            return text.ToString();
        }
        return null;
    }

    private sealed class Format(AgUiEventMapper mapper) : IStreamFormat
    {
        public async ValueTask<bool> OpenAsync(SseWriter writer, RelaySubscription subscription, CancellationToken ct)
        {
            await writer.WriteFrameAsync(mapper.Start(Clock.UnixMs()), ct).ConfigureAwait(false);
            if (subscription.Recovered) return true;
            await writer.WriteFrameAsync(mapper.Abort(Clock.UnixMs(),
                "The task's events are no longer retained, so this run cannot be replayed.", "unrecoverable"), ct).ConfigureAwait(false);
            return false;
        }

        public async ValueTask DeliverAsync(SseWriter writer, EventRecord record, CancellationToken ct)
        {
            var frames = mapper.Map(record.ToAgentEvent());
            if (frames.Length > 0) await writer.WriteFrameAsync(frames, ct).ConfigureAwait(false);
        }

        public ValueTask EndAsync(SseWriter writer, SubscriptionEnded ended, CancellationToken ct) =>
            writer.WriteFrameAsync(mapper.Abort(Clock.UnixMs(),
                $"The server ended the stream before the run finished ({ended.Reason}).", "stream_ended"), ct);
    }
}
