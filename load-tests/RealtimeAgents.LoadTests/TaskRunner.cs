using System.Diagnostics;
using RealtimeAgents.Contracts;
using RealtimeAgents.LoadTests.Metrics;

namespace RealtimeAgents.LoadTests;

/// <summary>What a scenario does to a task while it streams.</summary>
internal enum TaskAction
{
    /// <summary>Watch it to the end.</summary>
    None,
    /// <summary>Interrupt it a while after its first token; it must end with task.cancelled.</summary>
    Interrupt,
    /// <summary>Drop the user's connection a while after the first token; the SDK must resume.</summary>
    Drop,
}

/// <summary>One iteration of a virtual user: submit a task, subscribe, watch it to its terminal event.</summary>
internal static class TaskRunner
{
    private static long s_inputCounter;

    /// <param name="startTicks">When the task was due: now in the closed model, the scheduled
    /// start in the open model, so a late start is counted, not hidden.</param>
    public static async Task RunAsync(VirtualUser user, Settings settings, Recorder? rec, long startTicks, TaskAction action,
        Random random, CancellationToken ct)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(settings.TaskTimeout);
        var token = timeout.Token;

        SubmitTaskResult accepted;
        long sent = Stopwatch.GetTimestamp();
        try
        {
            accepted = await user.Client.SubmitAsync(new SubmitTaskRequest
            {
                Agent = "demo",
                Input = $"Plan a trip to Porto, request {Interlocked.Increment(ref s_inputCounter)}",
                Options = settings.AgentOptions(),
            }, token).ConfigureAwait(false);
            rec?.Record(MetricNames.Submit, Clock.MsSince(sent));
            rec?.Ok("submit");
        }
        catch (Exception ex) when (!ct.IsCancellationRequested)
        {
            rec?.Fail("submit", Failure.Reason(ex));
            return;
        }

        var probe = new TaskProbe(accepted.TaskId, startTicks, Clock.WallMs(), rec);
        user.Attach(probe);
        try
        {
            long subscribeSent = Stopwatch.GetTimestamp();
            Client.TaskSubscription subscription;
            try
            {
                subscription = await user.Client.SubscribeAsync(accepted.TaskId, null, token).ConfigureAwait(false);
                rec?.Record(MetricNames.Subscribe, Clock.MsSince(subscribeSent));
                rec?.Ok("subscribe");
            }
            catch (Exception ex) when (!ct.IsCancellationRequested)
            {
                rec?.Fail("subscribe", Failure.Reason(ex));
                return;
            }

            long interruptSent = 0;
            var acting = action switch
            {
                TaskAction.Interrupt => Task.Run(async () =>
                {
                    await probe.FirstDelta.WaitAsync(token).ConfigureAwait(false);
                    await Task.Delay(Jitter(settings.InterruptAfter, random), token).ConfigureAwait(false);
                    interruptSent = Stopwatch.GetTimestamp();
                    await user.Client.InterruptAsync(accepted.TaskId, "load test", token).ConfigureAwait(false);
                }, token),
                TaskAction.Drop => Task.Run(async () =>
                {
                    await probe.FirstDelta.WaitAsync(token).ConfigureAwait(false);
                    await Task.Delay(Jitter(settings.DropAfter, random), token).ConfigureAwait(false);
                    if (probe.Terminal.IsCompleted) return;
                    try
                    {
                        user.Drop(rec);
                        rec?.Ok("drop");
                    }
                    catch (ObjectDisposedException)
                    {
                        // The SDK's AbortConnections can meet a connection that is still being
                        // disposed after an earlier drop; the drop is lost, the task goes on.
                        rec?.Fail("drop", "ObjectDisposed");
                    }
                }, token),
                _ => Task.CompletedTask,
            };

            try
            {
                await foreach (var _ in subscription.ReadEventsAsync(token).ConfigureAwait(false))
                {
                    // The probe measures on the wire; reading here keeps the SDK's view drained, as an app would.
                }
                // The SDK's handler runs before the probe's, so the probe may be a moment behind.
                var (terminal, ticks) = await probe.Terminal.WaitAsync(token).ConfigureAwait(false);
                await acting.WaitAsync(token).ConfigureAwait(false);
                string expected = action == TaskAction.Interrupt ? EventKinds.TaskCancelled : EventKinds.TaskCompleted;
                if (terminal.Kind == expected)
                {
                    rec?.Ok("stream");
                    rec?.Count(MetricNames.Tasks);
                    if (action == TaskAction.Interrupt) rec?.Record(MetricNames.Interrupt, Clock.MsBetween(interruptSent, ticks));
                }
                else
                {
                    rec?.Fail("stream", terminal.Kind);
                }
                if (action == TaskAction.Interrupt) rec?.Ok("interrupt");
            }
            catch (Exception ex) when (!ct.IsCancellationRequested)
            {
                string reason = token.IsCancellationRequested ? "timeout" : Failure.Reason(ex);
                if (reason == "timeout") rec?.Count(MetricNames.Incomplete);
                rec?.Fail(action == TaskAction.Interrupt && acting.IsFaulted ? "interrupt" : "stream", reason);
            }
        }
        finally
        {
            user.Detach(probe);
        }
    }

    /// <summary>±25% around <paramref name="around"/>, so users do not act in lockstep.</summary>
    internal static TimeSpan Jitter(TimeSpan around, Random random)
    {
        lock (random) return around * (0.75 + 0.5 * random.NextDouble());
    }
}
