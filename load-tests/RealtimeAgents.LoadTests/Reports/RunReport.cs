using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using RealtimeAgents.LoadTests.Metrics;

namespace RealtimeAgents.LoadTests.Reports;

/// <summary>Where and how a run happened: the header of every report.</summary>
public sealed record RunHeader(
    string Scenario, string Description, string Mode, int Nodes, string Model, string Commit, string Machine, string Os,
    int Cores, string Cpu, double MemoryGb, string Runtime, DateTimeOffset StartedAt, double WallSeconds, int Seed,
    string CommandLine, IReadOnlyList<KeyValuePair<string, string>> Settings)
{
    /// <summary>
    /// The machine's 1-minute load average at the start and end of the run ("start → end"): on a
    /// shared machine, other work competes with the server and the harness, and this says how much.
    /// </summary>
    public string LoadAverage { get; init; } = "";

    /// <summary>The 1-minute load average now, from /proc/loadavg ("?" elsewhere).</summary>
    public static string ReadLoadAverage()
    {
        try
        {
            return File.ReadAllText("/proc/loadavg").Split(' ')[0];
        }
        catch (IOException)
        {
            return "?";
        }
    }

    /// <summary>Reads the machine's facts; the commit comes from git in the working directory when it can.</summary>
    public static RunHeader Describe(Settings s, string description, DateTimeOffset startedAt, double wallSeconds, string commandLine)
    {
        ArgumentNullException.ThrowIfNull(s);
        string model = s.Scenario == "fanout"
            ? $"{s.Viewers} viewers, {s.Iterations} tasks"
            : s.Model == LoadModel.Open
                ? $"open: {s.Rate.ToString(CultureInfo.InvariantCulture)} tasks/s ({(s.PoissonArrivals ? "Poisson" : "uniform")}) over {s.Users} connections"
                : $"closed: {s.Users} users, {(s.Iterations > 0 ? $"{s.Iterations} tasks each" : "tasks back to back")}, ramp {s.Ramp.TotalSeconds:0.#} s";
        var settings = new List<KeyValuePair<string, string>>
        {
            new("urls", string.Join(" ", s.Urls)),
            new("warmup", $"{s.Warmup.TotalSeconds:0.#} s"),
            new("duration", $"{s.Duration.TotalSeconds:0.#} s"),
            new("agent", $"tokens={s.Tokens} tokenIntervalMs={s.TokenIntervalMs} firstTokenDelayMs={s.FirstTokenDelayMs} toolCalls={s.ToolCalls} toolDelayMs={s.ToolDelayMs} reasoning={(s.Reasoning ? "true" : "false")}"),
        };
        return new RunHeader(s.Scenario, description, s.Mode, s.Urls.Select(u => u.Authority).Distinct().Count(), model, GitCommit(),
            Environment.MachineName, RuntimeInformation.OSDescription, Environment.ProcessorCount, CpuModel(), TotalMemoryGb(),
            RuntimeInformation.FrameworkDescription, startedAt, wallSeconds, s.Seed, commandLine, settings);
    }

    private static string GitCommit()
    {
        if (Environment.GetEnvironmentVariable("LOADTEST_COMMIT") is { Length: > 0 } given) return given;
        try
        {
            using var git = Process.Start(new ProcessStartInfo("git", "describe --always --dirty --abbrev=12")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            });
            if (git is null) return "unknown";
            string output = git.StandardOutput.ReadToEnd().Trim();
            if (!git.WaitForExit(5000)) git.Kill();
            return git.ExitCode == 0 && output.Length > 0 ? output : "unknown";
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return "unknown";
        }
    }

    private static string CpuModel()
    {
        try
        {
            string? line = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal));
            return line?.Split(':', 2)[1].Trim() ?? RuntimeInformation.ProcessArchitecture.ToString();
        }
        catch (IOException)
        {
            return RuntimeInformation.ProcessArchitecture.ToString();
        }
    }

    private static double TotalMemoryGb()
    {
        try
        {
            string? line = File.ReadLines("/proc/meminfo").FirstOrDefault(l => l.StartsWith("MemTotal:", StringComparison.Ordinal));
            if (line is null) return 0;
            return double.Parse(line.Split(':', 2)[1].Trim().Split(' ')[0], CultureInfo.InvariantCulture) / 1024 / 1024;
        }
        catch (IOException)
        {
            return 0;
        }
    }
}

/// <summary>A finished run: its header, what it measured, and the thresholds' verdicts.</summary>
public sealed record RunReport(RunHeader Header, Snapshot Snapshot, IReadOnlyList<ThresholdResult> Thresholds)
{
    /// <summary>The percentiles every report shows.</summary>
    public static readonly double[] Percentiles = [50, 75, 90, 95, 99, 99.9];

    /// <summary>True when every threshold was met.</summary>
    public bool Passed => Thresholds.All(t => t.Passed);

    /// <summary>"p99.9" for 99.9.</summary>
    public static string PercentileName(double p) => "p" + p.ToString("0.###", CultureInfo.InvariantCulture);

    /// <summary>Latency metrics in a fixed order (the known ones first), so reports line up run after run.</summary>
    public IEnumerable<KeyValuePair<string, Histogram>> Metrics
    {
        get
        {
            string[] order =
            [
                MetricNames.Ttft, MetricNames.TtftOverhead, MetricNames.Delivery, MetricNames.InterToken, MetricNames.EndToEnd,
                MetricNames.Interrupt, MetricNames.Reconnect, MetricNames.Resume, MetricNames.BacklogReplay, MetricNames.Connect,
                MetricNames.Submit, MetricNames.Subscribe,
            ];
            return Snapshot.Histograms.Where(kv => kv.Value.Count > 0)
                .OrderBy(kv => Array.IndexOf(order, kv.Key) is int i and >= 0 ? i : order.Length)
                .ThenBy(kv => kv.Key, StringComparer.Ordinal);
        }
    }

    /// <summary>Counters, with the completeness ones always present.</summary>
    public IReadOnlyDictionary<string, long> Counters
    {
        get
        {
            var counters = new SortedDictionary<string, long>(Snapshot.Counters.ToDictionary(), StringComparer.Ordinal);
            foreach (string name in new[] { MetricNames.Gaps, MetricNames.Duplicates, MetricNames.Reorders, MetricNames.Incomplete })
            {
                counters.TryAdd(name, 0);
            }
            return counters;
        }
    }

    /// <summary>Milliseconds from recorded microseconds.</summary>
    public static double Ms(long us) => us / 1000.0;

    /// <summary>Invariant number formatting for files.</summary>
    public static string Num(double v) =>
        v.ToString(Math.Abs(v) switch { >= 100 => "0.#", >= 1 => "0.##", _ => "0.###" }, CultureInfo.InvariantCulture);
}
