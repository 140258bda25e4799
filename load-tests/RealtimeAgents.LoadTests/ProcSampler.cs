using System.Globalization;
using RealtimeAgents.LoadTests.Metrics;

namespace RealtimeAgents.LoadTests;

/// <summary>
/// Samples the server processes from /proc (resident memory, threads, open file descriptors, CPU
/// time) at a fixed interval, and at the end sets gauges of the first, last and largest reading:
/// <c>server1.rss_mb.max</c>, <c>server1.fds.end</c>, … (numbered in --server-pid order), and the
/// CPU each process used on average (<c>server1.cpu_pct</c>, 100 = one core; <c>harness.cpu_pct</c>
/// for this process, which shares the machine), and the CPU time per event delivered to a user
/// (<c>server1.cpu_us_per_delivery</c>, <c>harness.cpu_us_per_delivery</c>): unlike latencies,
/// that cost hardly depends on what else the machine is doing, so it tells what a quiet machine
/// could sustain.
/// </summary>
internal static class ProcSampler
{
    public static async Task RunAsync(IReadOnlyList<int> pids, TimeSpan interval, Recorder rec, CancellationToken ct)
    {
        using var timer = new PeriodicTimer(interval);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        try
        {
            do
            {
                foreach (int pid in pids.Append(Environment.ProcessId))
                {
                    if (Read(pid) is { } r) rec.AddSample(new Sample(clock.Elapsed.TotalSeconds, pid, r.RssMb, r.Threads, r.Fds, r.CpuSeconds));
                }
            }
            while (await timer.WaitForNextTickAsync(ct).ConfigureAwait(false));
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
    }

    /// <summary>Sets the gauges from the samples taken.</summary>
    public static void Summarize(IReadOnlyList<int> pids, Snapshot snapshot, long deliveries, Recorder rec)
    {
        for (int i = 0; i < pids.Count; i++)
        {
            var samples = snapshot.Samples.Where(x => x.Pid == pids[i]).ToList();
            if (samples.Count == 0) continue;
            string name = $"server{i + 1}";
            Set(rec, $"{name}.rss_mb", samples.Select(x => x.RssMb).ToList(), "MB");
            Set(rec, $"{name}.threads", samples.Select(x => (double)x.Threads).ToList(), "threads");
            Set(rec, $"{name}.fds", samples.Select(x => (double)x.OpenFiles).ToList(), "files");
            Cpu(rec, name, samples, deliveries);
        }
        Cpu(rec, "harness", snapshot.Samples.Where(x => x.Pid == Environment.ProcessId).ToList(), deliveries);
    }

    private static void Cpu(Recorder rec, string name, List<Sample> samples, long deliveries)
    {
        if (samples.Count < 2) return;
        double seconds = samples[^1].Seconds - samples[0].Seconds;
        double cpu = samples[^1].CpuSeconds - samples[0].CpuSeconds;
        if (seconds > 0) rec.Gauge(name + ".cpu_pct", 100 * cpu / seconds, "% of a core");
        if (deliveries > 0) rec.Gauge(name + ".cpu_us_per_delivery", cpu * 1e6 / deliveries, "µs");
    }

    private static void Set(Recorder rec, string name, List<double> values, string unit)
    {
        rec.Gauge(name + ".start", values[0], unit);
        rec.Gauge(name + ".end", values[^1], unit);
        rec.Gauge(name + ".max", values.Max(), unit);
    }

    internal static (double RssMb, int Threads, int Fds, double CpuSeconds)? Read(int pid)
    {
        try
        {
            // /proc/PID/stat: fields 14 and 15 (utime, stime) in clock ticks, counted after the ")" that ends the name.
            string stat = File.ReadAllText($"/proc/{pid}/stat");
            string[] fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            double cpu = (double.Parse(fields[11], CultureInfo.InvariantCulture) + double.Parse(fields[12], CultureInfo.InvariantCulture)) / ClockTicksPerSecond;
            double rssKb = 0;
            int threads = 0;
            foreach (string line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal)) rssKb = Number(line);
                else if (line.StartsWith("Threads:", StringComparison.Ordinal)) threads = (int)Number(line);
            }
            int fds = Directory.EnumerateFileSystemEntries($"/proc/{pid}/fd").Count();
            return (rssKb / 1024, threads, fds, cpu);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null; // the process is gone
        }
    }

    /// <summary>USER_HZ, 100 on every Linux architecture .NET runs on.</summary>
    private const double ClockTicksPerSecond = 100;

    private static double Number(string line) =>
        double.Parse(line.Split(':', 2)[1].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
}
