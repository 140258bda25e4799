using RealtimeAgents.Conformance;
using RealtimeAgents.Contracts;
using RealtimeAgents.Testing;
using Xunit;

namespace RealtimeAgents.MultiNode.Tests;

/// <summary>A task waiting for a person's approval outlives its worker and its hub node.</summary>
public sealed class ApprovalRecoveryTests
{
    [Fact]
    public async Task WorkerSigkilledWhileWaiting_AndTheHubRestarted_TheRetryAppliesTheApprovalExactlyOnce()
    {
        await using var cluster = await Cluster.StartAsync(hubs: 1, workers: 1);
        var client = await cluster.ConnectAsync("hub-a");
        var task = await client.SubmitAsync(Cluster.Demo(new
        {
            requireApproval = true, approvalTimeoutMs = 120_000, toolCalls = 1, tokens = 5, tokenIntervalMs = 0, firstTokenDelayMs = 0,
            toolDelayMs = 0, reasoning = false,
        })).DefaultTimeout();
        var sub = await client.SubscribeAsync(task.TaskId).DefaultTimeout();
        var head = await sub.CollectAsync(e => e.Kind == EventKinds.Status && e.DataAs<StatusData>().Phase == StatusPhases.Waiting);
        var pending = head.Single(e => e.Kind == EventKinds.ToolApproval).DataAs<ToolApprovalData>();

        cluster.KillWorker("worker-1");
        cluster.KillHub("hub-a");
        await cluster.StartHubAsync("hub-a");
        // The answer goes in while no worker runs the task: it is stored, and the retry finds it.
        var answer = await RetryAsync(() => client.RespondToApprovalAsync(task.TaskId, pending.ToolCallId, true));
        Assert.True(answer.Waiting);
        await cluster.StartWorkerAsync("worker-2");
        var tail = await sub.CollectAsync(timeoutMs: 60_000);

        var all = head.Concat(tail).ToList();
        StreamAssert.CompleteTask(all);
        StreamAssert.Framed(all);
        Assert.Equal(EventKinds.TaskCompleted, all[^1].Kind);
        Assert.Contains(all, e => e.Kind == EventKinds.TaskStarted && e.DataAs<TaskStartedData>().Attempt == 2);
        var approvals = all.Where(e => e.Kind == EventKinds.ToolApproval).Select(e => e.DataAs<ToolApprovalData>()).ToList();
        Assert.Single(approvals, a => a.Status == ApprovalStates.Pending);
        Assert.Equal(ApprovalStates.Approved, approvals[^1].Status);
        Assert.All(approvals, a => Assert.Equal(pending.ToolCallId, a.ToolCallId));
        var result = Assert.Single(all, e => e.Kind == EventKinds.ToolResult).DataAs<ToolResultData>();
        Assert.Equal(pending.ToolCallId, result.ToolCallId);
        Assert.False(result.IsError);
        // A late second answer is refused: the first one was applied.
        await Assert.ThrowsAnyAsync<Exception>(() => client.RespondToApprovalAsync(task.TaskId, pending.ToolCallId, false)).DefaultTimeout();
    }

    /// <summary>Calls until the hub answers (the client reconnects to the restarted node meanwhile), for at most 30 s.</summary>
    private static async Task<T> RetryAsync<T>(Func<Task<T>> call)
    {
        var until = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            try
            {
                return await call().DefaultTimeout();
            }
            catch (Exception) when (DateTime.UtcNow < until)
            {
                await Task.Delay(200);
            }
        }
    }
}
