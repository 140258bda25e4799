using System.CommandLine;
using System.Globalization;
using RealtimeAgents.Contracts;
using RealtimeAgents.LoadTests;
using RealtimeAgents.LoadTests.Metrics;
using RealtimeAgents.LoadTests.Reports;
using Spectre.Console;
using Recorder = RealtimeAgents.LoadTests.Metrics.Recorder;

CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
// Redirected to a file or a pipe, tables get room instead of the 80-column default.
if (Console.IsOutputRedirected) AnsiConsole.Profile.Width = 180;

var scenario = new Argument<string>("scenario")
{
    Description = "What to measure: " + string.Join("; ", Scenarios.Names.Select(n => $"{n}: {Scenarios.Describe(n)}")),
};
scenario.AcceptOnlyFromAmong(Scenarios.Names);

var url = new Option<string[]>("--url") { Description = "Hub URL (repeat for several nodes; users are spread over them)", DefaultValueFactory = _ => ["http://127.0.0.1:5080/hubs/agents"], AllowMultipleArgumentsPerToken = false };
var mode = new Option<string>("--mode") { Description = "Label for the report: embedded, redis, two-nodes", DefaultValueFactory = _ => "external" };
var model = new Option<string>("--model") { Description = "closed (N users back to back) or open (task starts per second)", DefaultValueFactory = _ => "closed" };
model.AcceptOnlyFromAmong("closed", "open");
var users = new Option<int?>("--users") { Description = "Virtual users: one connection each (open model: the connection pool)" };
var ramp = new Option<string?>("--ramp") { Description = "Time over which users start (e.g. 10s)" };
var warmup = new Option<string?>("--warmup") { Description = "Load that is run but not measured (e.g. 5s)" };
var duration = new Option<string?>("--duration") { Description = "Measured time, e.g. 30s or 10m (with --iterations, an upper bound)" };
var iterations = new Option<int?>("--iterations") { Description = "Measured tasks per user (closed model; 0 = until the duration ends); fanout: tasks" };
var rate = new Option<double?>("--rate") { Description = "Task starts per second (open model)" };
var poisson = new Option<bool>("--poisson") { Description = "Poisson arrivals in the open model (default: evenly spaced)" };
var maxInFlight = new Option<int?>("--max-inflight") { Description = "Open model: most tasks running at once" };
var taskTimeout = new Option<string?>("--task-timeout") { Description = "A task without its terminal event by then is incomplete (default 120s)" };
var seed = new Option<int?>("--seed") { Description = "Seed for arrivals, jitter and which users drop (default 1)" };
var tokens = new Option<int?>("--tokens") { Description = "Demo agent: answer tokens" };
var interval = new Option<int?>("--token-interval") { Description = "Demo agent: ms between tokens (50 = 20 tokens/s)" };
var firstDelay = new Option<int?>("--first-token-delay") { Description = "Demo agent: ms before the first answer token" };
var toolCalls = new Option<int?>("--tool-calls") { Description = "Demo agent: tool calls before answering" };
var toolDelay = new Option<int?>("--tool-delay") { Description = "Demo agent: ms each tool runs" };
var reasoning = new Option<bool?>("--reasoning") { Description = "Demo agent: write a reasoning block first (true/false)" };
var viewers = new Option<int?>("--viewers") { Description = "fanout: viewers, a connection each (default 1000)" };
var dropAfter = new Option<string?>("--drop-after") { Description = "resume: drop the connection this long after the first token (default 1s, ±25%)" };
var dropFraction = new Option<double?>("--drop-fraction") { Description = "resume: share of tasks whose user drops (default 1)" };
var backlog = new Option<int?>("--backlog") { Description = "resume: tokens of the backlog task replayed to a fresh subscriber (default 10000; 0 = skip)" };
var replays = new Option<int?>("--replays") { Description = "resume: measured replays of the backlog (default 5)" };
var interruptAfter = new Option<string?>("--interrupt-after") { Description = "interrupt: interrupt this long after the first token (default 500ms, ±25%)" };
var serverPid = new Option<int[]>("--server-pid") { Description = "Sample this process from /proc (repeatable)", DefaultValueFactory = _ => [] };
var sampleInterval = new Option<string?>("--sample-interval") { Description = "How often to sample --server-pid (default 1s)" };
var threshold = new Option<string[]>("--threshold") { Description = "e.g. ttft.p99<50ms, delivery.p99<25ms, gaps==0 (repeatable; a miss makes the exit code 1)", DefaultValueFactory = _ => [] };
var output = new Option<string?>("--out") { Description = "Directory for report.md, metrics.csv, report.json and chart.svg" };
var protocol = new Option<string>("--protocol") { Description = "Hub protocol of the virtual users: json or messagepack", DefaultValueFactory = _ => "json" };
var noProgress = new Option<bool>("--no-progress") { Description = "Print a line every 5 s instead of a progress bar" };

var root = new RootCommand("RealtimeAgents load tests: virtual users over the .NET SDK against a running hub.")
{
    scenario, url, mode, model, users, ramp, warmup, duration, iterations, rate, poisson, maxInFlight, taskTimeout, seed,
    tokens, interval, firstDelay, toolCalls, toolDelay, reasoning, viewers, dropAfter, dropFraction, backlog, replays,
    interruptAfter, serverPid, sampleInterval, threshold, output, noProgress, protocol,
};

root.SetAction(async (parse, ct) =>
{
    string name = parse.GetValue(scenario)!;
    List<Threshold> thresholds;
    Settings settings;
    try
    {
        thresholds = [.. parse.GetValue(threshold)!.Select(Threshold.Parse)];
        var urls = parse.GetValue(url)!.Select(HubUrl).ToList();
        var d = Scenarios.Defaults(name, new Settings { Scenario = name, Urls = urls });
        settings = d with
        {
            Mode = parse.GetValue(mode)!,
            Model = parse.GetValue(model) == "open" ? LoadModel.Open : LoadModel.Closed,
            Users = parse.GetValue(users) ?? d.Users,
            Ramp = Time(parse.GetValue(ramp)) ?? d.Ramp,
            Warmup = Time(parse.GetValue(warmup)) ?? d.Warmup,
            Duration = Time(parse.GetValue(duration)) ?? d.Duration,
            Iterations = parse.GetValue(iterations) ?? d.Iterations,
            Rate = parse.GetValue(rate) ?? d.Rate,
            PoissonArrivals = parse.GetValue(poisson),
            MaxInFlight = parse.GetValue(maxInFlight) ?? d.MaxInFlight,
            TaskTimeout = Time(parse.GetValue(taskTimeout)) ?? d.TaskTimeout,
            Seed = parse.GetValue(seed) ?? d.Seed,
            Tokens = parse.GetValue(tokens) ?? d.Tokens,
            TokenIntervalMs = parse.GetValue(interval) ?? d.TokenIntervalMs,
            FirstTokenDelayMs = parse.GetValue(firstDelay) ?? d.FirstTokenDelayMs,
            ToolCalls = parse.GetValue(toolCalls) ?? d.ToolCalls,
            ToolDelayMs = parse.GetValue(toolDelay) ?? d.ToolDelayMs,
            Reasoning = parse.GetValue(reasoning) ?? d.Reasoning,
            Viewers = parse.GetValue(viewers) ?? d.Viewers,
            DropAfter = Time(parse.GetValue(dropAfter)) ?? d.DropAfter,
            DropFraction = parse.GetValue(dropFraction) ?? d.DropFraction,
            Backlog = parse.GetValue(backlog) ?? d.Backlog,
            Replays = parse.GetValue(replays) ?? d.Replays,
            InterruptAfter = Time(parse.GetValue(interruptAfter)) ?? d.InterruptAfter,
            ServerPids = parse.GetValue(serverPid)!,
            SampleInterval = Time(parse.GetValue(sampleInterval)) ?? d.SampleInterval,
            OutputDirectory = parse.GetValue(output),
            Progress = !parse.GetValue(noProgress),
            MessagePack = parse.GetValue(protocol) switch
            {
                "json" => false,
                "messagepack" or "msgpack" => true,
                var other => throw new FormatException($"--protocol must be json or messagepack, not '{other}'"),
            },
        };
        Validate(settings);
    }
    catch (FormatException ex)
    {
        Console.Error.WriteLine(ex.Message);
        return 2;
    }
    // Completeness is not optional: any gap, repeat or reordering fails the run.
    foreach (string always in new[] { "gaps==0", "duplicates==0", "reorders==0", "incomplete==0" })
    {
        if (!thresholds.Any(t => t.Text == always)) thresholds.Add(Threshold.Parse(always));
    }
    return await Run.ExecuteAsync(settings, thresholds, string.Join(' ', args), ct);
});

return await root.Parse(args).InvokeAsync();

static Uri HubUrl(string text)
{
    if (!Uri.TryCreate(text, UriKind.Absolute, out var uri)) throw new FormatException($"--url '{text}' is not an absolute URL.");
    return uri.AbsolutePath is "" or "/" ? new Uri(uri, HubMethods.Path) : uri;
}

static TimeSpan? Time(string? text)
{
    if (string.IsNullOrWhiteSpace(text)) return null;
    string t = text.Trim();
    (string number, double scale) = t switch
    {
        _ when t.EndsWith("ms", StringComparison.Ordinal) => (t[..^2], 0.001),
        _ when t.EndsWith('s') => (t[..^1], 1.0),
        _ when t.EndsWith('m') => (t[..^1], 60.0),
        _ when t.EndsWith('h') => (t[..^1], 3600.0),
        _ => (t, 1.0),
    };
    if (!double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) || v < 0)
    {
        throw new FormatException($"'{text}' is not a duration like 500ms, 30s, 10m or 1h.");
    }
    return TimeSpan.FromSeconds(v * scale);
}

static void Validate(Settings s)
{
    if (s.Users < 1) throw new FormatException("--users must be at least 1.");
    if (s.Rate <= 0) throw new FormatException("--rate must be above 0.");
    if (s.Duration <= TimeSpan.Zero) throw new FormatException("--duration must be above 0.");
    if (s.Viewers < 1) throw new FormatException("--viewers must be at least 1.");
    if (s.DropFraction is < 0 or > 1) throw new FormatException("--drop-fraction is between 0 and 1.");
    if (s.MaxInFlight < 1) throw new FormatException("--max-inflight must be at least 1.");
}

/// <summary>Runs a scenario with its progress display, then reports.</summary>
internal static class Run
{
    public static async Task<int> ExecuteAsync(Settings s, IReadOnlyList<Threshold> thresholds, string commandLine, CancellationToken ct)
    {
        var started = DateTimeOffset.UtcNow;
        string loadAtStart = RunHeader.ReadLoadAverage();
        var recorder = new Recorder();
        var progress = new RunProgress();
        using var sampling = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var sampler = ProcSampler.RunAsync(s.ServerPids, s.SampleInterval, recorder, sampling.Token);
        var run = Scenarios.RunAsync(s, recorder, progress, ct);
        int exit = 0;
        try
        {
            await ShowProgressAsync(run, s, progress);
            await run;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            AnsiConsole.MarkupLine($"[red]The run stopped early:[/] {Markup.Escape(ex.Message)}");
            exit = 3;
        }
        await sampling.CancelAsync();
        await sampler;

        recorder.Count(MetricNames.Deliveries, VirtualUser.Deliveries);
        // The harness's own pauses inflate what it measures; say how large they were.
        recorder.Gauge("harness.gc_pause_ms", GC.GetTotalPauseDuration().TotalMilliseconds, "ms");
        recorder.Gauge("harness.gc_gen2", GC.CollectionCount(2), "collections");
        ProcSampler.Summarize(s.ServerPids, recorder.Snapshot(), VirtualUser.Deliveries, recorder);
        var snapshot = recorder.Snapshot();
        var report = new RunReport(
            RunHeader.Describe(s, Scenarios.Describe(s.Scenario), started, (DateTimeOffset.UtcNow - started).TotalSeconds, commandLine)
                with { LoadAverage = $"{loadAtStart} → {RunHeader.ReadLoadAverage()}" },
            snapshot, [.. thresholds.Select(t => t.Evaluate(snapshot))]);
        ConsoleReport.Print(report, AnsiConsole.Console);
        if (s.OutputDirectory is { } dir)
        {
            foreach (string file in ReportWriters.WriteAll(report, dir)) Console.WriteLine($"wrote {file}");
        }
        if (exit == 0 && !report.Passed) exit = 1;
        Console.WriteLine(exit switch { 0 => "PASSED", 1 => "FAILED: a threshold was missed", _ => "FAILED: the run did not finish" });
        return exit;
    }

    private static async Task ShowProgressAsync(Task run, Settings s, RunProgress progress)
    {
        double planned = (s.Warmup + s.Duration).TotalSeconds;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        if (s.Progress && AnsiConsole.Profile.Capabilities.Interactive)
        {
            await AnsiConsole.Progress().AutoClear(true).Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new ElapsedTimeColumn())
                .StartAsync(async ctx =>
                {
                    var bar = ctx.AddTask(s.Scenario, maxValue: planned);
                    while (!run.IsCompleted)
                    {
                        bar.Value = Math.Min(planned, clock.Elapsed.TotalSeconds);
                        bar.Description = Markup.Escape($"{s.Scenario}: {progress.Phase}, {progress.TasksDone:N0} measured");
                        await Task.WhenAny(run, Task.Delay(250));
                    }
                    bar.Value = planned;
                });
            return;
        }
        while (!run.IsCompleted)
        {
            await Task.WhenAny(run, Task.Delay(5000));
            if (!run.IsCompleted) Console.WriteLine($"[{clock.Elapsed.TotalSeconds,5:0}s] {progress.Phase}, {progress.TasksDone:N0} measured");
        }
    }
}
