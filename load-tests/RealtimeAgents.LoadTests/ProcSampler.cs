using System.Globalization;
using RealtimeAgents.LoadTests.Metrics;

namespace RealtimeAgents.LoadTests;

/// <summary>
/// Samples the server processes from /proc (resident memory, threads, open file descriptors) at
/// a fixed interval, and at the end sets gauges of the first, last and largest reading:
/// <c>server1.rss_mb.max</c>, <c>server1.fds.end</c>, … (numbered in --server-pid order).
/// </summary>
internal static class ProcSampler
{
    public static async Task RunAsync(IReadOnlyList<int> pids, TimeSpan interval, Recorder rec, CancellationToken ct)
    {
        if (pids.Count == 0) return;
        using var timer = new PeriodicTimer(interval);
        try
        {
            do
            {
                foreach (int pid in pids)
                {
                    if (Read(pid) is { } reading) rec.AddSample(new Sample(rec.Elapsed, pid, reading.RssMb, reading.Threads, reading.Fds));
                }
            }
            while (await timer.WaitForNextTickAsync(ct).ConfigureAwait(false));
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
    }

    /// <summary>Sets the gauges from the samples taken.</summary>
    public static void Summarize(IReadOnlyList<int> pids, Snapshot snapshot, Recorder rec)
    {
        for (int i = 0; i < pids.Count; i++)
        {
            var samples = snapshot.Samples.Where(x => x.Pid == pids[i]).ToList();
            if (samples.Count == 0) continue;
            string name = $"server{i + 1}";
            Set(rec, $"{name}.rss_mb", samples.Select(x => x.RssMb).ToList(), "MB");
            Set(rec, $"{name}.threads", samples.Select(x => (double)x.Threads).ToList(), "threads");
            Set(rec, $"{name}.fds", samples.Select(x => (double)x.OpenFiles).ToList(), "files");
        }
    }

    private static void Set(Recorder rec, string name, List<double> values, string unit)
    {
        rec.Gauge(name + ".start", values[0], unit);
        rec.Gauge(name + ".end", values[^1], unit);
        rec.Gauge(name + ".max", values.Max(), unit);
    }

    internal static (double RssMb, int Threads, int Fds)? Read(int pid)
    {
        try
        {
            double rssKb = 0;
            int threads = 0;
            foreach (string line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal)) rssKb = Number(line);
                else if (line.StartsWith("Threads:", StringComparison.Ordinal)) threads = (int)Number(line);
            }
            int fds = Directory.EnumerateFileSystemEntries($"/proc/{pid}/fd").Count();
            return (rssKb / 1024, threads, fds);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null; // the process is gone
        }
    }

    private static double Number(string line) =>
        double.Parse(line.Split(':', 2)[1].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
}
