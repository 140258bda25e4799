using Microsoft.Extensions.Options;
using RealtimeAgents.Contracts;
using RealtimeAgents.Core;
using RealtimeAgents.Server.Http;

namespace RealtimeAgents.Server;

/// <summary>Registration and routes of the HTTP surface: REST, Server-Sent Events, AG-UI, OpenAPI.</summary>
public static class HttpSurfaceExtensions
{
    /// <summary>Where the OpenAPI description is served.</summary>
    public const string OpenApiPath = "/openapi/v1.json";

    /// <summary>Adds the HTTP surface's services, reading <see cref="HttpSurfaceOptions"/> from <paramref name="section"/>.</summary>
    public static IServiceCollection AddHttpSurface(this IServiceCollection services, IConfiguration section) =>
        services.AddHttpSurface(o => section.Bind(o));

    /// <summary>Adds the HTTP surface's services.</summary>
    public static IServiceCollection AddHttpSurface(this IServiceCollection services, Action<HttpSurfaceOptions> configure)
    {
        services.AddOptions<HttpSurfaceOptions>().Configure(configure);
        services.AddSingleton<HttpStreamMetrics>();
        services.AddSingleton<RelayStream>();
        services.AddOpenApi();
        return services;
    }

    /// <summary>Maps the endpoints (docs/http-api.md describes them).</summary>
    public static IEndpointRouteBuilder MapHttpSurface(this IEndpointRouteBuilder endpoints)
    {
        var api = endpoints.MapGroup("").RequireAuthorization(Auth.AuthExtensions.Policy)
            .AddEndpointFilter(HttpProblems.Filter).WithTags("RealtimeAgents")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status429TooManyRequests);

        api.MapPost("/tasks", TaskEndpoints.SubmitAsync)
            .WithName("SubmitTask").WithSummary("Create a task (Idempotency-Key header honoured)")
            .Accepts<SubmitTaskRequest>("application/json")
            .Produces<TaskCreatedResponse>(StatusCodes.Status201Created);
        api.MapGet("/tasks/{id}", TaskEndpoints.GetAsync)
            .WithName("GetTask").WithSummary("A task's state")
            .Produces<TaskInfo>();
        api.MapGet("/tasks/{id}/events", TaskEndpoints.StreamAsync)
            .WithName("StreamTaskEvents")
            .WithSummary("The task's events as Server-Sent Events, resumable with Last-Event-ID or ?cursor=")
            .Produces(StatusCodes.Status200OK, contentType: "text/event-stream")
            .Produces(StatusCodes.Status204NoContent);
        api.MapPost("/tasks/{id}/interrupt", TaskEndpoints.InterruptAsync)
            .WithName("InterruptTask").WithSummary("Interrupt a task; its stream ends with task.cancelled")
            .Accepts<InterruptRequest>(isOptional: true, "application/json")
            .Produces<TaskInfo>(StatusCodes.Status202Accepted);
        api.MapPost("/tasks/{id}/approvals/{toolCallId}", TaskEndpoints.RespondToApprovalAsync)
            .WithName("RespondToApproval").WithSummary("Approve or deny a tool call the task waits on")
            .Accepts<ApprovalRequestBody>("application/json")
            .Produces<ApprovalAnswerResult>()
            .ProducesProblem(StatusCodes.Status409Conflict);
        api.MapPost("/threads/{id}/messages", TaskEndpoints.SendMessageAsync)
            .WithName("SendMessage").WithSummary("A user message into a thread, with a policy: interrupt, enqueue, reject or inject")
            .Accepts<SendMessageRequest>("application/json")
            .Produces<SendMessageResult>(StatusCodes.Status201Created)
            .Produces<SendMessageResult>()
            .ProducesProblem(StatusCodes.Status409Conflict);
        api.MapPost("/ag-ui", (HttpContext http, TaskService tasks, RelayStream stream, IOptions<HttpSurfaceOptions> options) =>
                AgUiEndpoint.RunAsync(http, null, tasks, stream, options))
            .WithName("RunAgUiDefault").WithSummary("AG-UI: run the default agent; AG-UI events as SSE")
            .Produces(StatusCodes.Status200OK, contentType: "text/event-stream");
        api.MapPost("/ag-ui/{agent}", (string agent, HttpContext http, TaskService tasks, RelayStream stream, IOptions<HttpSurfaceOptions> options) =>
                AgUiEndpoint.RunAsync(http, agent, tasks, stream, options))
            .WithName("RunAgUi").WithSummary("AG-UI: run the named agent; AG-UI events as SSE")
            .Produces(StatusCodes.Status200OK, contentType: "text/event-stream");

        endpoints.MapOpenApi(OpenApiPath);
        return endpoints;
    }
}
