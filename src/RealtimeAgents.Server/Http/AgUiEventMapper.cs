using System.Buffers;
using System.Text.Json;
using RealtimeAgents.Contracts;

namespace RealtimeAgents.Server.Http;

/// <summary>
/// The one place our event kinds become AG-UI events (protocol 1.0, as @ag-ui/core and the
/// verifier of @ag-ui/client define them). docs/http-api.md has the table; in short:
/// <list type="bullet">
/// <item>RUN_STARTED is written before any event of the task (<see cref="Start"/>), so a
/// "status queued" before task.started, or a retry's second task.started, is never first.</item>
/// <item>task.started: the first attempt adds nothing; a retry becomes CUSTOM "task.retried".</item>
/// <item>status closes the previous step and opens one named after its label (else its phase).</item>
/// <item>text.*, reasoning.* and tool.* become the framed TEXT_MESSAGE_*, REASONING_* (a span
/// holding one message with the same id) and TOOL_CALL_*; tool.result becomes TOOL_CALL_RESULT.</item>
/// <item>tool.approval becomes CUSTOM "tool.approval" with its data as the value (AG-UI has no
/// approval event of its own); the answer goes back over POST /tasks/{id}/approvals/{toolCallId}
/// with the runId as the task id.</item>
/// <item>user.message (a message injected into the running task) becomes a whole TEXT_MESSAGE
/// with role user.</item>
/// <item>Before the terminal event every open message, reasoning span, tool call and step is
/// closed, whatever the task left open (a task that exhausted its retries closes nothing). Then
/// task.completed is RUN_FINISHED (result = output), task.failed RUN_ERROR (its code), and
/// task.cancelled RUN_ERROR with code "abort". Nothing follows it.</item>
/// </list>
/// Events for a block that is not open are dropped rather than sent, since the verifier rejects
/// them. Not thread-safe: the relay delivers one event at a time.
/// </summary>
internal sealed class AgUiEventMapper(string threadId, string runId, string taskId)
{
    private readonly List<string> _text = [];
    private readonly List<string> _reasoning = [];
    private readonly List<string> _tools = [];
    private readonly ArrayBufferWriter<byte> _buffer = new(1024);
    private string? _step;

    /// <summary>True once RUN_FINISHED or RUN_ERROR was produced.</summary>
    public bool Ended { get; private set; }

    /// <summary>RUN_STARTED, carrying our task id in metadata.</summary>
    public byte[] Start(double ts)
    {
        Begin();
        Event("RUN_STARTED", ts, w =>
        {
            w.WriteString("threadId", threadId);
            w.WriteString("runId", runId);
            w.WriteStartObject("metadata");
            w.WriteString("taskId", taskId);
            w.WriteEndObject();
        });
        return Take();
    }

    /// <summary>The SSE frames for one of our events (none when it has no AG-UI counterpart).</summary>
    public byte[] Map(AgentEvent e)
    {
        Begin();
        if (Ended) return Take();
        var d = e.Data;
        switch (e.Kind)
        {
            case EventKinds.TaskStarted:
                if (d.TryGetProperty("attempt", out var attempt) && attempt.GetInt32() > 1)
                {
                    Event("CUSTOM", e.Ts, w =>
                    {
                        w.WriteString("name", "task.retried");
                        w.WriteStartObject("value");
                        w.WriteNumber("attempt", attempt.GetInt32());
                        w.WriteEndObject();
                    });
                }
                break;
            case EventKinds.Status:
                FinishStep(e.Ts);
                _step = Str(d, "label") is { Length: > 0 } label ? label : Str(d, "phase") ?? "working";
                Event("STEP_STARTED", e.Ts, w => w.WriteString("stepName", _step));
                break;
            case EventKinds.TextStart:
                if (Open(_text, Str(d, "messageId")) is { } textId)
                {
                    Event("TEXT_MESSAGE_START", e.Ts, w =>
                    {
                        w.WriteString("messageId", textId);
                        w.WriteString("role", Str(d, "role") is "user" or "system" or "developer" ? Str(d, "role") : "assistant");
                    });
                }
                break;
            case EventKinds.TextDelta:
                if (IsOpen(_text, d, "messageId", out string id)) Content("TEXT_MESSAGE_CONTENT", e.Ts, id, Str(d, "delta"));
                break;
            case EventKinds.TextEnd:
                if (Close(_text, d, "messageId", out id)) Event("TEXT_MESSAGE_END", e.Ts, w => w.WriteString("messageId", id));
                break;
            case EventKinds.ReasoningStart:
                if (Open(_reasoning, Str(d, "messageId")) is { } reasoningId)
                {
                    Event("REASONING_START", e.Ts, w => w.WriteString("messageId", reasoningId));
                    Event("REASONING_MESSAGE_START", e.Ts, w =>
                    {
                        w.WriteString("messageId", reasoningId);
                        w.WriteString("role", "reasoning");
                    });
                }
                break;
            case EventKinds.ReasoningDelta:
                if (IsOpen(_reasoning, d, "messageId", out id)) Content("REASONING_MESSAGE_CONTENT", e.Ts, id, Str(d, "delta"));
                break;
            case EventKinds.ReasoningEnd:
                if (Close(_reasoning, d, "messageId", out id)) EndReasoning(id, e.Ts);
                break;
            case EventKinds.ToolStart:
                if (Open(_tools, Str(d, "toolCallId")) is { } callId)
                {
                    Event("TOOL_CALL_START", e.Ts, w =>
                    {
                        w.WriteString("toolCallId", callId);
                        w.WriteString("toolCallName", Str(d, "toolName") ?? "tool");
                    });
                }
                break;
            case EventKinds.ToolArgs:
                if (IsOpen(_tools, d, "toolCallId", out id))
                {
                    Event("TOOL_CALL_ARGS", e.Ts, w =>
                    {
                        w.WriteString("toolCallId", id);
                        w.WriteString("delta", Str(d, "delta") ?? "");
                    });
                }
                break;
            case EventKinds.ToolEnd:
                if (Close(_tools, d, "toolCallId", out id)) Event("TOOL_CALL_END", e.Ts, w => w.WriteString("toolCallId", id));
                break;
            case EventKinds.ToolResult:
                if (Str(d, "toolCallId") is { } resultFor)
                {
                    Event("TOOL_CALL_RESULT", e.Ts, w =>
                    {
                        w.WriteString("messageId", resultFor + "-result");
                        w.WriteString("toolCallId", resultFor);
                        // AG-UI carries a tool's result as text: a JSON string as itself, anything else as its JSON.
                        w.WriteString("content", d.TryGetProperty("output", out var output)
                            ? output.ValueKind == JsonValueKind.String ? output.GetString() : output.GetRawText()
                            : "");
                        w.WriteString("role", "tool");
                        if (d.TryGetProperty("isError", out var isError) && isError.ValueKind == JsonValueKind.True)
                        {
                            w.WriteStartObject("metadata");
                            w.WriteBoolean("isError", true);
                            w.WriteEndObject();
                        }
                    });
                }
                break;
            case EventKinds.ToolApproval:
                Event("CUSTOM", e.Ts, w =>
                {
                    w.WriteString("name", EventKinds.ToolApproval);
                    w.WritePropertyName("value");
                    d.WriteTo(w);
                });
                break;
            case EventKinds.UserMessage:
                string messageId = Str(d, "messageId") ?? e.Id;
                Event("TEXT_MESSAGE_START", e.Ts, w =>
                {
                    w.WriteString("messageId", messageId);
                    w.WriteString("role", "user");
                });
                Content("TEXT_MESSAGE_CONTENT", e.Ts, messageId, Str(d, "text"));
                Event("TEXT_MESSAGE_END", e.Ts, w => w.WriteString("messageId", messageId));
                break;
            case EventKinds.TaskCompleted:
                CloseAll(e.Ts);
                Event("RUN_FINISHED", e.Ts, w =>
                {
                    w.WriteString("threadId", threadId);
                    w.WriteString("runId", runId);
                    w.WriteString("result", Str(d, "output") ?? "");
                    if (d.TryGetProperty("usage", out var usage) && usage.ValueKind == JsonValueKind.Object)
                    {
                        long input = usage.TryGetProperty("inputTokens", out var i) ? i.GetInt64() : 0;
                        long output = usage.TryGetProperty("outputTokens", out var o) ? o.GetInt64() : 0;
                        w.WriteStartArray("usage");
                        w.WriteStartObject();
                        w.WriteNumber("inputTokens", input);
                        w.WriteNumber("outputTokens", output);
                        w.WriteNumber("totalTokens", input + output);
                        w.WriteEndObject();
                        w.WriteEndArray();
                    }
                });
                Ended = true;
                break;
            case EventKinds.TaskFailed:
                RunError(e.Ts, Str(d, "message") ?? "The task failed.", Str(d, "code") ?? "agent_error");
                break;
            case EventKinds.TaskCancelled:
                RunError(e.Ts, Str(d, "reason") ?? "The task was cancelled.", "abort");
                break;
        }
        return Take();
    }

    /// <summary>The stream stopped before the task's terminal event: close everything and say why.</summary>
    public byte[] Abort(double ts, string message, string code)
    {
        Begin();
        if (!Ended) RunError(ts, message, code);
        return Take();
    }

    private void RunError(double ts, string message, string code)
    {
        CloseAll(ts);
        Event("RUN_ERROR", ts, w =>
        {
            w.WriteString("message", message);
            w.WriteString("code", code);
        });
        Ended = true;
    }

    private void CloseAll(double ts)
    {
        for (int i = _text.Count - 1; i >= 0; i--) { string id = _text[i]; Event("TEXT_MESSAGE_END", ts, w => w.WriteString("messageId", id)); }
        for (int i = _reasoning.Count - 1; i >= 0; i--) EndReasoning(_reasoning[i], ts);
        for (int i = _tools.Count - 1; i >= 0; i--) { string id = _tools[i]; Event("TOOL_CALL_END", ts, w => w.WriteString("toolCallId", id)); }
        _text.Clear();
        _reasoning.Clear();
        _tools.Clear();
        FinishStep(ts);
    }

    private void EndReasoning(string id, double ts)
    {
        Event("REASONING_MESSAGE_END", ts, w => w.WriteString("messageId", id));
        Event("REASONING_END", ts, w => w.WriteString("messageId", id));
    }

    private void FinishStep(double ts)
    {
        if (_step is not { } step) return;
        Event("STEP_FINISHED", ts, w => w.WriteString("stepName", step));
        _step = null;
    }

    private void Content(string type, double ts, string messageId, string? delta) => Event(type, ts, w =>
    {
        w.WriteString("messageId", messageId);
        w.WriteString("delta", delta ?? "");
    });

    private static string? Open(List<string> open, string? id)
    {
        if (id is null || open.Contains(id)) return null;
        open.Add(id);
        return id;
    }

    private static bool IsOpen(List<string> open, JsonElement data, string property, out string id)
    {
        id = Str(data, property) ?? "";
        return open.Contains(id);
    }

    private static bool Close(List<string> open, JsonElement data, string property, out string id) =>
        IsOpen(open, data, property, out id) && open.Remove(id);

    private static string? Str(JsonElement data, string property) =>
        data.ValueKind == JsonValueKind.Object && data.TryGetProperty(property, out var v) && v.ValueKind == JsonValueKind.String
            ? v.GetString() : null;

    // One SSE frame per AG-UI event: "data: <json>\n\n" (the client's parser reads only data lines).
    private void Event(string type, double ts, Action<Utf8JsonWriter> fields)
    {
        _buffer.Write("data: "u8);
        using (var w = new Utf8JsonWriter(_buffer))
        {
            w.WriteStartObject();
            w.WriteString("type", type);
            w.WriteNumber("timestamp", (long)ts); // AG-UI timestamps are whole milliseconds
            fields(w);
            w.WriteEndObject();
        }
        _buffer.Write("\n\n"u8);
    }

    private void Begin() => _buffer.ResetWrittenCount();

    private byte[] Take() => _buffer.WrittenSpan.ToArray();
}
