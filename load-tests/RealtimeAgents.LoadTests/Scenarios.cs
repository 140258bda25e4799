using System.Diagnostics;
using RealtimeAgents.Contracts;
using RealtimeAgents.LoadTests.Metrics;

namespace RealtimeAgents.LoadTests;

/// <summary>The scenarios, each with its defaults (flags override them) and its run.</summary>
internal static class Scenarios
{
    public static readonly string[] Names = ["ttft", "ttft-serial", "fanout", "resume", "interrupt", "soak"];

    /// <summary>What each scenario measures, for --help and the report.</summary>
    public static string Describe(string scenario) => scenario switch
    {
        "ttft" => "many users, one streaming task each (tokens at 20/s): TTFT, its hub overhead, delivery latency",
        "ttft-serial" => "one user, 100 tasks one after another, no model delay, no tools, no reasoning: the pure hub overhead",
        "fanout" => "one task at a time watched by many viewers (a connection each): delivery latency to every viewer",
        "resume" => "users drop their connection mid-stream and the SDK resumes; then a large backlog replayed to a fresh subscriber",
        "interrupt" => "users interrupt their task after its first tokens: Interrupt sent to task.cancelled received",
        "soak" => "steady streaming load for a bounded duration, with the server's memory, threads and open files sampled",
        _ => throw new ArgumentException($"Unknown scenario '{scenario}'.", nameof(scenario)),
    };

    /// <summary>The scenario's defaults on top of the general ones.</summary>
    public static Settings Defaults(string scenario, Settings s) => scenario switch
    {
        "ttft" => s with { Users = 100, Iterations = 1, Tokens = 100, TokenIntervalMs = 50, Warmup = TimeSpan.FromSeconds(5), Duration = TimeSpan.FromSeconds(60) },
        "ttft-serial" => s with
        {
            Users = 1, Iterations = 100, Tokens = 5, TokenIntervalMs = 10, FirstTokenDelayMs = 0, ToolCalls = 0, Reasoning = false,
            Warmup = TimeSpan.FromSeconds(3), Duration = TimeSpan.FromSeconds(60),
        },
        "fanout" => s with
        {
            Users = 1, Viewers = 1000, Iterations = 3, Tokens = 100, TokenIntervalMs = 50, FirstTokenDelayMs = 1000, ToolCalls = 0,
            Reasoning = false, Warmup = TimeSpan.FromSeconds(1),
        },
        "resume" => s with
        {
            Users = 100, Iterations = 1, Tokens = 200, TokenIntervalMs = 20, FirstTokenDelayMs = 0, ToolCalls = 0, Reasoning = false,
            Warmup = TimeSpan.FromSeconds(3), Duration = TimeSpan.FromSeconds(60),
        },
        "interrupt" => s with
        {
            Users = 100, Iterations = 3, Tokens = 1000, TokenIntervalMs = 50, FirstTokenDelayMs = 0, ToolCalls = 0, Reasoning = false,
            Warmup = TimeSpan.FromSeconds(3), Duration = TimeSpan.FromSeconds(60),
        },
        "soak" => s with { Users = 50, Iterations = 0, Tokens = 100, TokenIntervalMs = 50, Warmup = TimeSpan.FromSeconds(5), Duration = TimeSpan.FromMinutes(2) },
        _ => throw new ArgumentException($"Unknown scenario '{scenario}'.", nameof(scenario)),
    };

    public static async Task RunAsync(Settings s, Recorder rec, RunProgress progress, CancellationToken ct)
    {
        if (s.Scenario == "fanout")
        {
            await FanoutAsync(s, rec, progress, ct).ConfigureAwait(false);
            return;
        }
        var users = await ConnectAsync(s.Users, s, rec, progress, ct).ConfigureAwait(false);
        try
        {
            Func<Random, TaskAction> action = s.Scenario switch
            {
                "interrupt" => _ => TaskAction.Interrupt,
                "resume" => r =>
                {
                    lock (r) return r.NextDouble() < s.DropFraction ? TaskAction.Drop : TaskAction.None;
                },
                _ => _ => TaskAction.None,
            };
            if (s.Model == LoadModel.Open) await LoadModels.RunOpenAsync(users, s, rec, action, progress, ct).ConfigureAwait(false);
            else await LoadModels.RunClosedAsync(users, s, rec, action, progress, ct).ConfigureAwait(false);
            if (s.Scenario == "resume" && s.Backlog > 0) await BacklogAsync(users[0], s, rec, progress, ct).ConfigureAwait(false);
        }
        finally
        {
            await DisposeAllAsync(users).ConfigureAwait(false);
        }
    }

    /// <summary>Opens the users' connections, spread over the URLs, a few at a time.</summary>
    private static async Task<List<VirtualUser>> ConnectAsync(int count, Settings s, Recorder rec, RunProgress progress, CancellationToken ct)
    {
        progress.Phase = $"connecting {count} users";
        var users = new VirtualUser[count];
        using var gate = new SemaphoreSlim(32);
        await Task.WhenAll(Enumerable.Range(0, count).Select(async i =>
        {
            await gate.WaitAsync(ct).ConfigureAwait(false);
            try
            {
                users[i] = await VirtualUser.ConnectAsync(s.Urls[i % s.Urls.Count], rec, ct, s.MessagePack).WaitAsync(TimeSpan.FromSeconds(30), ct)
                    .ConfigureAwait(false);
            }
            finally
            {
                gate.Release();
            }
        })).ConfigureAwait(false);
        return [.. users];
    }

    private static async Task DisposeAllAsync(IEnumerable<VirtualUser> users)
    {
        foreach (var chunk in users.Chunk(64))
        {
            await Task.WhenAll(chunk.Select(async u =>
            {
                try { await u.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false); }
                catch (Exception ex) when (ex is TimeoutException or ObjectDisposedException) { }
            })).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// One task at a time, watched by every viewer from its start; the first task (with a warm-up)
    /// is not measured. TTFT here is per viewer: the submit to that viewer's first token.
    /// </summary>
    private static async Task FanoutAsync(Settings s, Recorder rec, RunProgress progress, CancellationToken ct)
    {
        var all = await ConnectAsync(s.Viewers + 1, s, rec, progress, ct).ConfigureAwait(false);
        var publisher = all[0];
        var viewers = all.Skip(1).ToList();
        try
        {
            int warmups = s.Warmup > TimeSpan.Zero ? 1 : 0;
            for (int round = 0; round < warmups + Math.Max(1, s.Iterations) && !ct.IsCancellationRequested; round++)
            {
                bool measured = round >= warmups;
                if (round == warmups) rec.StartClock();
                progress.Phase = measured ? $"task {round - warmups + 1} of {s.Iterations} to {viewers.Count} viewers" : "warm-up task";
                var r = measured ? rec : null;
                long sent = Stopwatch.GetTimestamp();
                SubmitTaskResult accepted;
                try
                {
                    accepted = await publisher.Client.SubmitAsync(new SubmitTaskRequest
                    {
                        Agent = "demo",
                        Input = "Plan a trip to Porto for everyone",
                        Options = s.AgentOptions(),
                    }, ct).WaitAsync(s.TaskTimeout, ct).ConfigureAwait(false);
                    r?.Record(MetricNames.Submit, Clock.MsSince(sent));
                    r?.Ok("submit");
                }
                catch (Exception ex) when (!ct.IsCancellationRequested)
                {
                    r?.Fail("submit", Failure.Reason(ex));
                    continue;
                }
                await Task.WhenAll(viewers.Select(v => WatchAsync(v, accepted.TaskId, sent, s, r, progress, ct))).ConfigureAwait(false);
            }
        }
        finally
        {
            await DisposeAllAsync(all).ConfigureAwait(false);
        }
    }

    private static async Task WatchAsync(VirtualUser viewer, string taskId, long startTicks, Settings s, Recorder? r,
        RunProgress progress, CancellationToken ct)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(s.TaskTimeout);
        var probe = new TaskProbe(taskId, startTicks, Clock.WallMs(), r);
        viewer.Attach(probe);
        try
        {
            long subscribeSent = Stopwatch.GetTimestamp();
            var sub = await viewer.Client.SubscribeAsync(taskId, null, timeout.Token).ConfigureAwait(false);
            r?.Record(MetricNames.Subscribe, Clock.MsSince(subscribeSent));
            await foreach (var _ in sub.ReadEventsAsync(timeout.Token).ConfigureAwait(false)) { }
            var (terminal, _) = await probe.Terminal.WaitAsync(timeout.Token).ConfigureAwait(false);
            if (terminal.Kind == EventKinds.TaskCompleted) r?.Ok("view");
            else r?.Fail("view", terminal.Kind);
            if (r is not null) progress.TaskDone();
        }
        catch (Exception ex) when (!ct.IsCancellationRequested)
        {
            string reason = timeout.IsCancellationRequested ? "timeout" : Failure.Reason(ex);
            if (reason == "timeout") r?.Count(MetricNames.Incomplete);
            r?.Fail("view", reason);
        }
        finally
        {
            viewer.Detach(probe);
        }
    }

    /// <summary>
    /// A finished task with <see cref="Settings.Backlog"/> tokens, replayed from the start to a
    /// fresh subscription <see cref="Settings.Replays"/> times (after one unmeasured replay).
    /// The rate is events / (subscribe sent → terminal event received).
    /// </summary>
    private static async Task BacklogAsync(VirtualUser user, Settings s, Recorder rec, RunProgress progress, CancellationToken ct)
    {
        progress.Phase = $"writing a {s.Backlog}-token backlog";
        var backlogSettings = s with { FirstTokenDelayMs = 0, ToolCalls = 0, Reasoning = false };
        var accepted = await user.Client.SubmitAsync(new SubmitTaskRequest
        {
            Agent = "demo",
            Input = "Plan a very long trip to Porto",
            Options = backlogSettings.AgentOptions(tokens: s.Backlog, tokenIntervalMs: 0),
        }, ct).WaitAsync(s.TaskTimeout, ct).ConfigureAwait(false);

        var rates = new List<double>();
        for (int i = 0; i <= s.Replays && !ct.IsCancellationRequested; i++)
        {
            bool measured = i > 0;
            progress.Phase = measured ? $"backlog replay {i} of {s.Replays}" : "backlog written, warm-up replay";
            long sent = Stopwatch.GetTimestamp();
            // Not live: the history is the point, so no delivery latency; completeness still counts.
            var probe = new TaskProbe(accepted.TaskId, sent, double.MaxValue, measured ? rec : null, timings: false);
            user.Attach(probe);
            try
            {
                var sub = await user.Client.SubscribeAsync(accepted.TaskId, null, ct).WaitAsync(s.TaskTimeout, ct).ConfigureAwait(false);
                await foreach (var _ in sub.ReadEventsAsync(ct).ConfigureAwait(false)) { }
                var (terminal, ticks) = await probe.Terminal.WaitAsync(s.TaskTimeout, ct).ConfigureAwait(false);
                if (!measured) continue;
                double ms = Clock.MsBetween(sent, ticks);
                rec.Record(MetricNames.BacklogReplay, ms);
                rec.Gauge("backlog.events", terminal.Seq, "events");
                rates.Add(terminal.Seq / (ms / 1000));
                rec.Ok("replay");
            }
            catch (Exception ex) when (!ct.IsCancellationRequested)
            {
                if (measured) rec.Fail("replay", Failure.Reason(ex));
            }
            finally
            {
                user.Detach(probe);
            }
        }
        if (rates.Count > 0)
        {
            rates.Sort();
            rec.Gauge("backlog.events_per_s", rates[rates.Count / 2], "events/s");
        }
    }
}
