using System.Diagnostics;
using RealtimeAgents.LoadTests.Metrics;

namespace RealtimeAgents.LoadTests;

/// <summary>How much of the run is done, for the progress display.</summary>
internal sealed class RunProgress
{
    private long _tasks;
    public long TasksDone => Interlocked.Read(ref _tasks);
    public void TaskDone() => Interlocked.Increment(ref _tasks);
    public volatile string Phase = "connecting";
}

/// <summary>
/// The two load models. Both are bounded: nothing starts after warm-up + duration, and tasks
/// still running then get <see cref="Settings.DrainTimeout"/> to finish.
/// </summary>
internal static class LoadModels
{
    /// <summary>
    /// Closed model: each user starts (spread over the ramp) and runs tasks back to back. Tasks
    /// started during warm-up run but are not measured; after warm-up a user runs
    /// <see cref="Settings.Iterations"/> measured tasks, or keeps going until the duration ends.
    /// </summary>
    public static async Task RunClosedAsync(IReadOnlyList<VirtualUser> users, Settings s, Recorder rec,
        Func<Random, TaskAction> action, RunProgress progress, CancellationToken ct)
    {
        long t0 = Stopwatch.GetTimestamp();
        var warmupEnd = s.Warmup;
        var measureEnd = s.Warmup + s.Duration;
        _ = StartClockAfterWarmupAsync(rec, s.Warmup, progress, ct);
        var loops = users.Select((user, i) => Task.Run(async () =>
        {
            var random = new Random(unchecked(s.Seed * 7919 + i));
            if (s.Ramp > TimeSpan.Zero) await Task.Delay(s.Ramp * i / users.Count, ct).ConfigureAwait(false);
            int measured = 0;
            while (!ct.IsCancellationRequested && Stopwatch.GetElapsedTime(t0) < measureEnd
                   && (s.Iterations == 0 || measured < s.Iterations))
            {
                bool warm = Stopwatch.GetElapsedTime(t0) < warmupEnd;
                await TaskRunner.RunAsync(user, s, warm ? null : rec, Stopwatch.GetTimestamp(), action(random), random, ct)
                    .ConfigureAwait(false);
                if (!warm)
                {
                    measured++;
                    progress.TaskDone();
                }
            }
        }, ct)).ToList();
        await WhenAllBounded(loops, measureEnd + s.TaskTimeout + s.DrainTimeout, progress, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// Open model: tasks start at <see cref="Settings.Rate"/> per second (evenly, or with Poisson
    /// arrivals from the seed) on the users' connections in turn, whether or not earlier ones have
    /// finished. Latencies count from the scheduled start, so a harness or server that falls behind
    /// shows up in the figures instead of silently lowering the load (coordinated omission).
    /// </summary>
    public static async Task RunOpenAsync(IReadOnlyList<VirtualUser> users, Settings s, Recorder rec,
        Func<Random, TaskAction> action, RunProgress progress, CancellationToken ct)
    {
        var random = new Random(s.Seed);
        using var inFlight = new SemaphoreSlim(s.MaxInFlight);
        var running = new List<Task>();
        long t0 = Stopwatch.GetTimestamp();
        double total = (s.Warmup + s.Duration).TotalSeconds;
        double warmup = s.Warmup.TotalSeconds;
        _ = StartClockAfterWarmupAsync(rec, s.Warmup, progress, ct);
        double next = 0;
        for (long i = 0; next < total && !ct.IsCancellationRequested; i++)
        {
            var wait = TimeSpan.FromSeconds(next) - Stopwatch.GetElapsedTime(t0);
            if (wait > TimeSpan.FromMilliseconds(1)) await Task.Delay(wait, ct).ConfigureAwait(false);
            long scheduled = t0 + (long)(next * Stopwatch.Frequency);
            bool measured = next >= warmup;
            var user = users[(int)(i % users.Count)];
            var taskAction = action(random);
            running.Add(Task.Run(async () =>
            {
                await inFlight.WaitAsync(ct).ConfigureAwait(false);
                try
                {
                    await TaskRunner.RunAsync(user, s, measured ? rec : null, scheduled, taskAction, random, ct).ConfigureAwait(false);
                }
                finally
                {
                    inFlight.Release();
                }
                if (measured) progress.TaskDone();
            }, ct));
            next += s.PoissonArrivals ? -Math.Log(1 - random.NextDouble()) / s.Rate : 1 / s.Rate;
        }
        await WhenAllBounded(running, s.TaskTimeout + s.DrainTimeout, progress, ct).ConfigureAwait(false);
    }

    private static async Task StartClockAfterWarmupAsync(Recorder rec, TimeSpan warmup, RunProgress progress, CancellationToken ct)
    {
        progress.Phase = warmup > TimeSpan.Zero ? "warm-up" : "measuring";
        if (warmup > TimeSpan.Zero) await Task.Delay(warmup, ct).ConfigureAwait(false);
        rec.StartClock();
        progress.Phase = "measuring";
    }

    internal static async Task WhenAllBounded(IReadOnlyCollection<Task> tasks, TimeSpan limit, RunProgress progress, CancellationToken ct)
    {
        try
        {
            await Task.WhenAll(tasks).WaitAsync(limit, ct).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            progress.Phase = "stopped at the time limit";
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
    }
}
