using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.DependencyInjection;
using RealtimeAgents.Client;
using RealtimeAgents.Conformance;
using RealtimeAgents.Contracts;
using RealtimeAgents.Core;
using RealtimeAgents.Testing;
using Xunit;

namespace RealtimeAgents.Agents.Tests;

/// <summary>Human approval of tool calls: the demo agent's requireApproval and an Agent Framework approval-required function.</summary>
public sealed class ApprovalTests
{
    private static readonly object OneApprovedTool = new
    {
        requireApproval = true, toolCalls = 1, tokens = 3, tokenIntervalMs = 0, firstTokenDelayMs = 0, toolDelayMs = 0, reasoning = false,
    };

    private static SubmitTaskRequest Demo(object options, string? threadId = null) => new()
    {
        Agent = "demo", Input = "Plan a trip to Lyon", ThreadId = threadId, Options = JsonSerializer.SerializeToElement(options),
    };

    /// <summary>Runs the task, answering each pending approval with <paramref name="approve"/> as soon as the SDK delivers it.</summary>
    private static async Task<List<AgentEvent>> RunAnsweringAsync(RealtimeAgentsClient client, SubmitTaskRequest request, bool approve,
        string? reason = null)
    {
        var task = await client.SubmitAsync(request).DefaultTimeout();
        return await AgentFrameworkHub.CollectAsync(await client.SubscribeAsync(task.TaskId).DefaultTimeout(), async e =>
        {
            if (e.Kind == EventKinds.ToolApproval && e.DataAs<ToolApprovalData>() is { Status: ApprovalStates.Pending } pending)
            {
                var answer = await client.RespondToApprovalAsync(task.TaskId, pending.ToolCallId, approve, reason).DefaultTimeout();
                Assert.True(answer.Waiting);
            }
        });
    }

    private static ToolApprovalData[] Approvals(List<AgentEvent> events) =>
        [.. events.Where(e => e.Kind == EventKinds.ToolApproval).Select(e => e.DataAs<ToolApprovalData>())];

    [Fact]
    public async Task Demo_Approved_WaitsWithThePendingCall_ThenRunsTheTool()
    {
        await using var hub = await AgentFrameworkHub.StartAsync();

        var events = await RunAnsweringAsync(hub.Client, Demo(OneApprovedTool), approve: true);

        StreamAssert.CompleteTask(events);
        StreamAssert.Framed(events);
        Assert.Equal(EventKinds.TaskCompleted, events[^1].Kind);
        var approvals = Approvals(events);
        Assert.Equal(2, approvals.Length);
        var pending = approvals[0];
        var end = events.Single(e => e.Kind == EventKinds.ToolEnd).DataAs<ToolCallData>();
        Assert.Equal((end.ToolCallId, ApprovalStates.Pending, "search_flights"), (pending.ToolCallId, pending.Status, pending.ToolName));
        Assert.Equal("Lyon", pending.Input!.Value.GetProperty("destination").GetString());
        Assert.NotNull(pending.DeadlineMs);
        Assert.Equal(ApprovalStates.Approved, approvals[1].Status);
        int pendingAt = events.FindIndex(e => e.Kind == EventKinds.ToolApproval);
        Assert.Equal(new StatusData(StatusPhases.Waiting, "Waiting for approval of search_flights"), events[pendingAt + 1].DataAs<StatusData>());
        var result = events.Single(e => e.Kind == EventKinds.ToolResult);
        Assert.False(result.DataAs<ToolResultData>().IsError);
        Assert.True(result.Seq > events.Last(e => e.Kind == EventKinds.ToolApproval).Seq);
    }

    [Fact]
    public async Task Demo_Denied_TheToolDoesNotRun_AndTheAgentGoesOnWithoutIt()
    {
        await using var hub = await AgentFrameworkHub.StartAsync();

        var events = await RunAnsweringAsync(hub.Client, Demo(OneApprovedTool), approve: false, reason: "too expensive");

        Assert.Equal(EventKinds.TaskCompleted, events[^1].Kind);
        Assert.Equal((ApprovalStates.Denied, "too expensive"), (Approvals(events)[1].Status, Approvals(events)[1].Reason));
        var result = events.Single(e => e.Kind == EventKinds.ToolResult).DataAs<ToolResultData>();
        Assert.True(result.IsError);
        Assert.True(result.Output.GetProperty("denied").GetBoolean());
        Assert.Equal("Here is a plan for Lyon.", events[^1].DataAs<TaskCompletedData>().Output);
    }

    [Fact]
    public async Task NoAnswerInTime_DeniesTheCall_WithReasonTimeout_AndALateAnswerIsAConflict()
    {
        await using var hub = await AgentFrameworkHub.StartAsync();
        var task = await hub.Client.SubmitAsync(Demo(new
        {
            requireApproval = true, approvalTimeoutMs = 300, toolCalls = 1, tokens = 3, tokenIntervalMs = 0, firstTokenDelayMs = 0,
            toolDelayMs = 0, reasoning = false,
        })).DefaultTimeout();

        var events = await AgentFrameworkHub.CollectAsync(await hub.Client.SubscribeAsync(task.TaskId).DefaultTimeout());

        Assert.Equal(EventKinds.TaskCompleted, events[^1].Kind);
        var answer = Approvals(events)[1];
        Assert.Equal((ApprovalStates.Denied, ApprovalStates.TimeoutReason), (answer.Status, answer.Reason));
        Assert.True(events.Single(e => e.Kind == EventKinds.ToolResult).DataAs<ToolResultData>().IsError);
        var late = await Assert.ThrowsAsync<HubException>(() => hub.Client.RespondToApprovalAsync(task.TaskId, answer.ToolCallId, true)).DefaultTimeout();
        Assert.Contains("conflict: Task '" + task.TaskId + "' has ended", late.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ASecondAnswer_IsAConflict_AndTheFirstOneCounts()
    {
        await using var hub = await AgentFrameworkHub.StartAsync();
        // A long answer, so the task still runs when the second answer comes.
        var task = await hub.Client.SubmitAsync(Demo(new { requireApproval = true, toolCalls = 1, tokens = 40, tokenIntervalMs = 20, firstTokenDelayMs = 0, toolDelayMs = 0 }))
            .DefaultTimeout();
        string? second = null;

        var events = await AgentFrameworkHub.CollectAsync(await hub.Client.SubscribeAsync(task.TaskId).DefaultTimeout(), async e =>
        {
            if (e.Kind == EventKinds.ToolApproval && e.DataAs<ToolApprovalData>() is { Status: ApprovalStates.Pending } p)
            {
                await hub.Client.RespondToApprovalAsync(task.TaskId, p.ToolCallId, false, "no").DefaultTimeout();
                second = (await Assert.ThrowsAsync<HubException>(() => hub.Client.RespondToApprovalAsync(task.TaskId, p.ToolCallId, true))
                    .DefaultTimeout()).Message;
            }
        });

        Assert.EndsWith("conflict: Tool call 'call_" + task.TaskId + "_1' was already denied.", second, StringComparison.Ordinal);
        Assert.Equal(ApprovalStates.Denied, Approvals(events)[1].Status);
        Assert.True(events.Single(e => e.Kind == EventKinds.ToolResult).DataAs<ToolResultData>().IsError);
    }

    [Fact]
    public async Task AnAnswerSentBeforeThePendingEventReachedTheClient_IsApplied_WithoutWaiting()
    {
        await using var hub = await AgentFrameworkHub.StartAsync();
        // The demo agent names its approved calls call_{taskId}_{n}: answer before subscribing at all.
        var task = await hub.Client.SubmitAsync(Demo(OneApprovedTool)).DefaultTimeout();
        var early = await hub.Client.RespondToApprovalAsync(task.TaskId, $"call_{task.TaskId}_1", true).DefaultTimeout();

        var events = await AgentFrameworkHub.CollectAsync(await hub.Client.SubscribeAsync(task.TaskId).DefaultTimeout());

        Assert.Equal(EventKinds.TaskCompleted, events[^1].Kind);
        Assert.True(early.Approved);
        var approvals = Approvals(events);
        // Either the agent had asked already (pending, then approved) or it found the answer waiting (approved only).
        Assert.Equal(ApprovalStates.Approved, approvals[^1].Status);
        Assert.Equal(early.Waiting ? 2 : 1, approvals.Length);
        Assert.False(events.Single(e => e.Kind == EventKinds.ToolResult).DataAs<ToolResultData>().IsError);
    }

    [Fact]
    public async Task AReadOnlyViewer_IsRefused_ASteerShareHolder_MayAnswer()
    {
        await using var hub = await AgentFrameworkHub.StartAsync();
        var tasks = hub.Services.GetRequiredService<TaskService>();
        var owner = Caller.User("alice");
        var request = Demo(OneApprovedTool) with
        {
            Share = [new TaskShare("viewers", ShareAccess.Read), new TaskShare("pilots", ShareAccess.Steer)],
        };
        var task = await tasks.SubmitAsync(owner, request).DefaultTimeout();
        string callId = $"call_{task.TaskId}_1";

        var refused = await Assert.ThrowsAsync<RealtimeAgentsException>(
            () => tasks.RespondToApprovalAsync(Caller.User("bob", "viewers"), task.TaskId, callId, true, null)).DefaultTimeout();
        Assert.Equal(ErrorCodes.PermissionDenied, refused.Code);
        var stranger = await Assert.ThrowsAsync<RealtimeAgentsException>(
            () => tasks.RespondToApprovalAsync(Caller.User("eve"), task.TaskId, callId, true, null)).DefaultTimeout();
        Assert.Equal(ErrorCodes.NotFound, stranger.Code);

        var answered = await tasks.RespondToApprovalAsync(Caller.User("carol", "pilots"), task.TaskId, callId, false, "not now").DefaultTimeout();
        Assert.False(answered.Approved);
        await Eventually.TrueAsync(async () => (await tasks.GetTaskAsync(owner, task.TaskId)).Status == TaskStates.Completed);
    }

    [Fact]
    public async Task TheRestEndpoint_AnswersAnApproval_AndRefusesASecondAnswerWith409()
    {
        await using var hub = await AgentFrameworkHub.StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri(hub.HubUrl, "/") };
        var task = await hub.Client.SubmitAsync(Demo(OneApprovedTool)).DefaultTimeout();
        string path = $"/tasks/{task.TaskId}/approvals/call_{task.TaskId}_1";

        var missing = await http.PostAsJsonAsync(path, new { reason = "?" }).DefaultTimeout();
        var first = await http.PostAsJsonAsync(path, new { approved = true }).DefaultTimeout();
        var second = await http.PostAsJsonAsync(path, new { approved = false }).DefaultTimeout();

        Assert.Equal(HttpStatusCode.BadRequest, missing.StatusCode);
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.True((await first.Content.ReadFromJsonAsync<ApprovalAnswerResult>().DefaultTimeout())!.Approved);
        Assert.Equal(HttpStatusCode.Conflict, second.StatusCode);
        var events = await AgentFrameworkHub.CollectAsync(await hub.Client.SubscribeAsync(task.TaskId).DefaultTimeout());
        Assert.False(events.Single(e => e.Kind == EventKinds.ToolResult).DataAs<ToolResultData>().IsError);
    }

    [Fact]
    public async Task AgentFramework_ApprovalRequiredFunction_Approved_RunsOnce_AndTheModelReadsItsResult()
    {
        await using var hub = await AgentFrameworkHub.StartAsync();

        var events = await RunAnsweringAsync(hub.Client, new SubmitTaskRequest { Agent = "af-approve", Input = "What is the weather in Paris?" },
            approve: true);

        StreamAssert.CompleteTask(events);
        StreamAssert.Framed(events);
        Assert.Equal(EventKinds.TaskCompleted, events[^1].Kind);
        var approvals = Approvals(events);
        Assert.Equal(("get_weather", ApprovalStates.Approved), (approvals[0].ToolName, approvals[1].Status));
        Assert.Equal("Paris", approvals[0].Input!.Value.GetProperty("city").GetString());
        Assert.Single(events, e => e.Kind == EventKinds.ToolStart);
        var result = events.Single(e => e.Kind == EventKinds.ToolResult).DataAs<ToolResultData>();
        Assert.Equal(approvals[0].ToolCallId, result.ToolCallId);
        Assert.False(result.IsError);
        Assert.Equal(1, hub.ToolRuns);
        Assert.Contains("sunny", events[^1].DataAs<TaskCompletedData>().Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AgentFramework_ApprovalRequiredFunction_Denied_NeverRuns_AndTheModelIsToldSo()
    {
        await using var hub = await AgentFrameworkHub.StartAsync();

        var events = await RunAnsweringAsync(hub.Client, new SubmitTaskRequest { Agent = "af-approve", Input = "What is the weather in Paris?" },
            approve: false, reason: "no lookups today");

        Assert.Equal(EventKinds.TaskCompleted, events[^1].Kind);
        Assert.Equal(0, hub.ToolRuns);
        var result = events.Single(e => e.Kind == EventKinds.ToolResult).DataAs<ToolResultData>();
        Assert.True(result.IsError);
        Assert.Contains("no lookups today", result.Output.GetRawText(), StringComparison.Ordinal);
        Assert.Contains("no lookups today", events[^1].DataAs<TaskCompletedData>().Output, StringComparison.Ordinal);
    }
}
