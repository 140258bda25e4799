using System.Diagnostics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RealtimeAgents.Contracts;
using RealtimeAgents.Core.Observability;

namespace RealtimeAgents.Core.Runtime;

/// <summary>
/// Takes tasks from the queue and runs their agents, at most <see cref="WorkerOptions.Concurrency"/>
/// at a time. For each task it writes task.started (with the attempt), relays control messages
/// (<see cref="ControlPump"/>: interrupt cancels the agent's token; injected messages become
/// user.message), renews the lease while the agent runs (<see cref="LeaseHeartbeat"/>), closes any
/// block the agent left open and writes exactly one terminal event (<see cref="TaskOutcomeWriter"/>).
/// On shutdown a task that does not finish within the grace period is handed back unfinished so
/// another worker retries it.
/// </summary>
public sealed class AgentWorker(
    ITaskQueue queue,
    ITaskStore store,
    IEventLog log,
    IControlChannel control,
    AgentRegistry agents,
    IThreadScheduler threads,
    IApprovalStore approvals,
    IOptions<WorkerOptions> workerOptions,
    IOptions<TaskQueueOptions> queueOptions,
    ILogger<AgentWorker> logger) : BackgroundService
{
    // How long one dequeue waits for a task, how long to back off when the queue fails, and how
    // long shutdown waits for handed-back runs to write their hand-back.
    private static readonly TimeSpan DequeueWait = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan QueueRetryDelay = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan HandBackWait = TimeSpan.FromSeconds(10);
    // Leases asked for in one dequeue at most: a burst of submits is read in a few round trips,
    // and no lease waits long in a batch before its run starts.
    private const int MaxBatch = 64;

    private readonly WorkerOptions _options = workerOptions.Value;
    private readonly TimeSpan _heartbeat = queueOptions.Value.VisibilityTimeout / 3;
    private readonly CancellationTokenSource _handBack = new();
    private readonly TaskOutcomeWriter _outcomes = new(store, log, queue, control, approvals, threads, logger);

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var slots = new SemaphoreSlim(_options.Concurrency, _options.Concurrency);
        var running = new HashSet<Task>();
        int ask = 1;
        WorkerLog.Started(logger, _options.ConsumerName, _options.Concurrency);
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                await slots.WaitAsync(stoppingToken).ConfigureAwait(false);
                // This loop is the only taker of slots, so the free ones stay free until it takes
                // them. It asks for one lease; while the queue hands over all it asked for, it asks
                // for twice as many next time (up to the free slots): a backlog is read in batches,
                // a quiet queue one task at a time.
                int want = Math.Min(ask, 1 + slots.CurrentCount);
                IReadOnlyList<TaskLease> leases;
                try
                {
                    leases = await queue.DequeueAsync(_options.ConsumerName, want, DequeueWait, stoppingToken).ConfigureAwait(false);
                    ask = leases.Count == want ? Math.Min(want * 2, MaxBatch) : 1;
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    slots.Release();
                    WorkerLog.QueueFailed(logger, ex);
                    await Task.Delay(QueueRetryDelay, stoppingToken).ConfigureAwait(false);
                    continue;
                }
                if (leases.Count == 0) { slots.Release(); continue; }
                for (int i = 0; i < leases.Count; i++)
                {
                    if (i > 0 && !slots.Wait(0)) throw new InvalidOperationException("a worker slot was taken outside the dequeue loop");
                    var run = RunLeaseAsync(leases[i]);
                    lock (running) running.Add(run);
                    _ = run.ContinueWith(t =>
                    {
                        slots.Release();
                        lock (running) running.Remove(t);
                    }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        Task[] left;
        lock (running) left = [.. running];
        if (left.Length == 0) return;
        // Let running tasks finish for a while, then hand the rest back.
        await Task.WhenAny(Task.WhenAll(left), Task.Delay(_options.ShutdownGrace, CancellationToken.None)).ConfigureAwait(false);
        await _handBack.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(left).WaitAsync(HandBackWait, CancellationToken.None).ConfigureAwait(false);
    }

    /// <summary>Runs one leased task to its terminal event (or hands it back on shutdown).</summary>
    internal async Task RunLeaseAsync(TaskLease lease)
    {
        try
        {
            await RunCoreAsync(lease).ConfigureAwait(false);
        }
        catch (StaleAttemptException ex)
        {
            // Our lease expired (we were too slow to renew it) and a retry owns the task now; the
            // fence kept us from writing into its events. Nothing more to do here.
            WorkerLog.Superseded(logger, lease.TaskId, lease.Attempt, ex.Fence);
        }
        catch (Exception ex)
        {
            // Storage failed under us: the lease is not completed, so the task is retried elsewhere.
            WorkerLog.RunFailed(logger, ex, lease.TaskId);
        }
    }

    private async Task RunCoreAsync(TaskLease lease)
    {
        var ct = CancellationToken.None; // storage calls finish even while stopping; hand-back is explicit
        var task = await store.GetAsync(lease.TaskId, ct).ConfigureAwait(false);
        if (task is null || TaskStates.IsTerminal(task.Status))
        {
            // Gone, or a previous attempt already wrote the terminal event before dying.
            await queue.CompleteAsync(lease, ct).ConfigureAwait(false);
            return;
        }
        if (lease.Attempt > _options.MaxAttempts)
        {
            var exhausted = new TaskOutcome.Failed(
                $"The task was attempted {_options.MaxAttempts} times and its worker stopped each time.", "retries_exhausted");
            await _outcomes.EndAsync(task, lease, exhausted, TimeSpan.Zero, ttft: null, activity: null).ConfigureAwait(false);
            return;
        }

        // The run joins the trace of the submit that created the task (carried in the record).
        ActivityContext.TryParse(task.TraceParent, null, out var parent);
        using var activity = RealtimeAgentsTelemetry.WorkerSource.StartActivity("RunTask", ActivityKind.Consumer, parent);
        activity?.SetTag("realtime_agents.task_id", task.TaskId).SetTag("realtime_agents.agent", task.Agent)
            .SetTag("realtime_agents.attempt", lease.Attempt);
        var agentTag = RealtimeAgentsTelemetry.Agent(task.Agent);
        RealtimeAgentsTelemetry.TasksStarted.Add(1, agentTag);
        if (lease.Attempt > 1) RealtimeAgentsTelemetry.TasksRetried.Add(1, agentTag);
        RealtimeAgentsTelemetry.TasksActive.Add(1);
        try
        {
            await RunAttemptAsync(task, lease, activity).ConfigureAwait(false);
        }
        finally
        {
            RealtimeAgentsTelemetry.TasksActive.Add(-1);
        }
    }

    private async Task RunAttemptAsync(TaskRecord task, TaskLease lease, Activity? activity)
    {
        var context = new AgentContext(log, task, lease.Attempt) { RunActivity = activity };
        context.UseApprovals(approvals, _options.ApprovalTimeout);
        // The control subscription, the record's status and the first event do not wait for one
        // another: one round trip before the agent starts instead of three. The status is sent
        // first, so on one Redis node it still lands before task.started. Control messages that
        // arrive meanwhile wait in the subscription until the pump relays them.
        var subscribing = control.SubscribeAsync(task.TaskId, CancellationToken.None).AsTask();
        try
        {
            var running = store.UpdateAsync(task.TaskId, new TaskUpdate(Status: TaskStates.Running, Attempt: lease.Attempt,
                StartedAt: DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()), CancellationToken.None).AsTask();
            var first = context.AppendAsync(EventKinds.TaskStarted, new TaskStartedData(task.Agent, task.Input, lease.Attempt),
                ContractsJsonContext.Default.TaskStartedData).AsTask();
            await Task.WhenAll(running, first).ConfigureAwait(false);
            if (lease.Attempt > 1) await context.CloseAbandonedBlocksAsync(CancellationToken.None).ConfigureAwait(false);
        }
        catch
        {
            _ = ControlPump.ReleaseAsync(subscribing);
            throw;
        }

        var started = Stopwatch.GetTimestamp();
        TaskOutcome outcome;
        await using (LeaseHeartbeat.Start(queue, lease, _heartbeat, logger))
        {
            await using (var pump = ControlPump.Start(await subscribing.ConfigureAwait(false), context, _handBack.Token, logger))
            {
                outcome = await RunAgentAsync(task, context, pump, started).ConfigureAwait(false);
            }
            // The relay stopped above, so no injected message lands after the terminal event.
            await context.CloseOpenBlocksAsync().ConfigureAwait(false);
        }
        context.StopToolSpans();

        if (outcome is TaskOutcome.Ended ended)
        {
            await _outcomes.EndAsync(task, lease, ended, Stopwatch.GetElapsedTime(started), context.TimeToFirstToken, activity)
                .ConfigureAwait(false);
        }
        else
        {
            await _outcomes.HandBackAsync(task, lease, context, activity).ConfigureAwait(false);
        }
    }

    // The agent's run, to its outcome. A stale attempt is not an outcome: it propagates, and the retry that owns the task ends it.
    private async Task<TaskOutcome> RunAgentAsync(TaskRecord task, AgentContext context, ControlPump pump, long started)
    {
        try
        {
            var agent = agents.Create(task.Agent);
            await context.StatusAsync(StatusPhases.Running).ConfigureAwait(false);
            var result = await agent.RunAsync(context, pump.AgentToken).ConfigureAwait(false);
            return new TaskOutcome.Completed(result.Output, result.Usage, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }
        catch (OperationCanceledException) when (pump.Interrupted)
        {
            return new TaskOutcome.Cancelled(pump.InterruptReason);
        }
        catch (OperationCanceledException) when (_handBack.IsCancellationRequested)
        {
            return TaskOutcome.HandedBack.Instance;
        }
        catch (Exception ex) when (ex is not StaleAttemptException)
        {
            WorkerLog.AgentFailed(logger, ex, task.TaskId, task.Agent);
            return ex is AgentException ae ? new TaskOutcome.Failed(ae.Message, ae.Code) : new TaskOutcome.Failed(ex.Message, "agent_error");
        }
    }

    /// <inheritdoc />
    public override void Dispose()
    {
        _handBack.Dispose();
        base.Dispose();
    }
}
