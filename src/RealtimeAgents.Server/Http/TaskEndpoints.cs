using Microsoft.Extensions.Options;
using RealtimeAgents.Contracts;
using RealtimeAgents.Core;
using RealtimeAgents.Server.Auth;

namespace RealtimeAgents.Server.Http;

/// <summary>
/// The hub's operations over plain HTTP. Each goes through <see cref="TaskService"/> with the same
/// caller the hub uses, so validation, access checks and limits are the same on both.
/// </summary>
internal static class TaskEndpoints
{
    public const string IdempotencyKeyHeader = "Idempotency-Key";
    public const string LastEventIdHeader = "Last-Event-ID";

    /// <summary>The caller (the hub resolves its callers the same way).</summary>
    public static Caller CallerOf(HttpContext http) => http.RequestServices.GetRequiredService<CallerResolver>().For(http.User);

    /// <summary>Counts a submit against the caller's rate, or throws limit_exceeded (429).</summary>
    public static void CountSubmit(HttpContext http, Caller caller) =>
        http.RequestServices.GetRequiredService<SubmitRateLimiter>().Acquire(caller);

    public static string TaskPath(HttpContext http, string taskId) => $"{http.Request.PathBase}/tasks/{taskId}";

    /// <summary>POST /tasks: SubmitTaskRequest → 201 TaskCreatedResponse, Location /tasks/{id}.</summary>
    public static async Task<IResult> SubmitAsync(HttpContext http, TaskService tasks, IOptions<HttpSurfaceOptions> options, IOptions<TaskOptions> taskOptions)
    {
        var request = (await JsonBody.ReadAsync(http.Request, ContractsJsonContext.Default.SubmitTaskRequest,
            MaxBody(options.Value, taskOptions.Value)).ConfigureAwait(false))!;
        if (http.Request.Headers.TryGetValue(IdempotencyKeyHeader, out var header))
        {
            string key = header.ToString();
            if (request.IdempotencyKey is { } bodyKey && bodyKey != key)
            {
                throw RealtimeAgentsException.Invalid("The Idempotency-Key header and the body's idempotencyKey differ; send one of them.");
            }
            request = request with { IdempotencyKey = key };
        }
        var caller = CallerOf(http);
        CountSubmit(http, caller);
        var accepted = await tasks.SubmitAsync(caller, request, http.RequestAborted).ConfigureAwait(false);
        var info = await tasks.GetTaskAsync(caller, accepted.TaskId, http.RequestAborted).ConfigureAwait(false);
        string location = TaskPath(http, info.TaskId);
        http.Response.Headers.Location = location;
        return Results.Json(new TaskCreatedResponse(info.TaskId, info.ThreadId, info.Status, location + "/events"),
            HttpJsonContext.Default.TaskCreatedResponse, statusCode: StatusCodes.Status201Created);
    }

    /// <summary>GET /tasks/{id} → TaskInfo.</summary>
    public static async Task<IResult> GetAsync(string id, HttpContext http, TaskService tasks) =>
        Results.Json(await tasks.GetTaskAsync(CallerOf(http), id, http.RequestAborted).ConfigureAwait(false),
            ContractsJsonContext.Default.TaskInfo);

    /// <summary>POST /tasks/{id}/interrupt with an optional {reason} → 202 TaskInfo; the stream then ends with task.cancelled.</summary>
    public static async Task<IResult> InterruptAsync(string id, HttpContext http, TaskService tasks, IOptions<HttpSurfaceOptions> options, IOptions<TaskOptions> taskOptions)
    {
        var body = await JsonBody.ReadAsync(http.Request, HttpJsonContext.Default.InterruptRequest,
            MaxBody(options.Value, taskOptions.Value), optional: true).ConfigureAwait(false);
        var caller = CallerOf(http);
        await tasks.InterruptAsync(caller, id, body?.Reason, http.RequestAborted).ConfigureAwait(false);
        var info = await tasks.GetTaskAsync(caller, id, http.RequestAborted).ConfigureAwait(false);
        return Results.Json(info, ContractsJsonContext.Default.TaskInfo, statusCode: StatusCodes.Status202Accepted);
    }

    /// <summary>POST /tasks/{id}/approvals/{toolCallId} {approved, reason?} → ApprovalAnswerResult; 409 when already answered.</summary>
    public static async Task<IResult> RespondToApprovalAsync(string id, string toolCallId, HttpContext http, TaskService tasks,
        IOptions<HttpSurfaceOptions> options, IOptions<TaskOptions> taskOptions)
    {
        var body = (await JsonBody.ReadAsync(http.Request, HttpJsonContext.Default.ApprovalRequestBody,
            MaxBody(options.Value, taskOptions.Value)).ConfigureAwait(false))!;
        if (body.Approved is not { } approved) throw RealtimeAgentsException.Invalid("The body needs \"approved\": true or false.");
        var result = await tasks.RespondToApprovalAsync(CallerOf(http), id, toolCallId, approved, body.Reason, http.RequestAborted)
            .ConfigureAwait(false);
        return Results.Json(result, ContractsJsonContext.Default.ApprovalAnswerResult);
    }

    /// <summary>
    /// POST /threads/{id}/messages {text, policy} → SendMessageResult: 201 with Location when a
    /// task was started or queued, 200 when the message went into the running task (inject).
    /// </summary>
    public static async Task<IResult> SendMessageAsync(string id, HttpContext http, ThreadService threads, IOptions<HttpSurfaceOptions> options, IOptions<TaskOptions> taskOptions)
    {
        var body = (await JsonBody.ReadAsync(http.Request, HttpJsonContext.Default.SendMessageRequest,
            MaxBody(options.Value, taskOptions.Value)).ConfigureAwait(false))!;
        var caller = CallerOf(http);
        CountSubmit(http, caller);
        var result = await threads.SendMessageAsync(caller, id, body.Text, body.Policy, http.RequestAborted).ConfigureAwait(false);
        if (result.Outcome == "injected") return Results.Json(result, ContractsJsonContext.Default.SendMessageResult);
        http.Response.Headers.Location = TaskPath(http, result.TaskId);
        return Results.Json(result, ContractsJsonContext.Default.SendMessageResult, statusCode: StatusCodes.Status201Created);
    }

    /// <summary>
    /// GET /tasks/{id}/events: the task's events as Server-Sent Events (see <see cref="EventStreamFormat"/>),
    /// after the Last-Event-ID header or else the cursor query parameter (absent: from the start).
    /// </summary>
    public static async Task<IResult> StreamAsync(string id, HttpContext http, TaskService tasks, IEventLog log, RelayStream stream)
    {
        var ct = http.RequestAborted;
        string? raw = http.Request.Headers.TryGetValue(LastEventIdHeader, out var last) ? last.ToString() : http.Request.Query["cursor"].ToString();
        if (!Cursor.TryParse(raw, out var cursor))
        {
            throw RealtimeAgentsException.Invalid("The cursor is malformed: use \"0-0\" (or none) for the start, \"$\" for live only, or an event id like \"1732200000000-0\".");
        }
        var caller = CallerOf(http);
        var task = await tasks.GetReadableAsync(caller, id, ct).ConfigureAwait(false);
        // A reader that already holds the terminal event (an EventSource reconnecting after the
        // stream ended) has nothing left to read: 204 tells EventSource to stop reconnecting.
        if (cursor.Kind == CursorKind.After &&
            await log.GetInfoAsync(task.TaskId, ct).ConfigureAwait(false) is { Terminal: true } info && cursor.After == info.LastId)
        {
            return Results.NoContent();
        }
        using (http.RequestServices.GetRequiredService<EventStreamLimiter>().Acquire(caller))
        {
            await stream.RunAsync(http, task.TaskId, cursor, new EventStreamFormat(task.Status)).ConfigureAwait(false);
        }
        return Results.Empty;
    }

    private static int MaxBody(HttpSurfaceOptions options, TaskOptions taskOptions) =>
        options.MaxRequestBodyBytes > 0 ? options.MaxRequestBodyBytes : 2 * taskOptions.MaxInputBytes + 16 * 1024;
}
