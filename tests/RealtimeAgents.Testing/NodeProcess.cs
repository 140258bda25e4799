using System.Globalization;
using System.Diagnostics;
using System.Text.RegularExpressions;

namespace RealtimeAgents.Testing;

/// <summary>
/// A product process (a hub node or a worker) started from a dll next to the tests, with its
/// output captured; killed by PID when disposed. Kill() is SIGKILL: the process dies without a
/// word, as on a crashed machine.
/// </summary>
public sealed partial class NodeProcess : IDisposable
{
    private readonly Process _process;
    private readonly List<string> _log = [];
    private readonly SemaphoreSlim _logged = new(0);

    private NodeProcess(Process process, string name)
    {
        _process = process;
        Name = name;
    }

    public string Name { get; }
    public int Pid => _process.Id;
    public bool HasExited => _process.HasExited;
    /// <summary>The exit code once the process has exited (134 is an abort: an unhandled exception).</summary>
    public int ExitCode => _process.ExitCode;
    public string Log { get { lock (_log) return string.Join('\n', _log); } }

    /// <summary>Starts <c>dotnet DLL ARGS</c> where DLL sits next to the test assembly.</summary>
    public static NodeProcess Start(string name, string dllName, IEnumerable<string> args, IDictionary<string, string> environment)
    {
        string dll = Path.Combine(AppContext.BaseDirectory, dllName);
        if (!File.Exists(dll)) throw new FileNotFoundException($"{dllName} is missing next to the tests (is the project referenced?)", dll);
        var info = new ProcessStartInfo("dotnet", [dll, .. args])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = AppContext.BaseDirectory,
        };
        info.Environment["DOTNET_gcServer"] = "0";
        foreach (var (k, v) in environment) info.Environment[k] = v;
        var process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {name}");
        var node = new NodeProcess(process, name);
        process.OutputDataReceived += (_, e) => node.Append(e.Data);
        process.ErrorDataReceived += (_, e) => node.Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return node;
    }

    private void Append(string? line)
    {
        if (line is null) return;
        lock (_log) _log.Add(line);
        _logged.Release();
    }

    /// <summary>Waits until the output contains <paramref name="text"/>; fails if the process exits first.</summary>
    public async Task WaitForLogAsync(string text)
    {
        while (!Log.Contains(text, StringComparison.Ordinal))
        {
            if (_process.HasExited) throw new InvalidOperationException($"{Name} exited ({_process.ExitCode}):\n{Log}");
            await _logged.WaitAsync(TimeSpan.FromMilliseconds(200)).ConfigureAwait(false);
        }
    }

    /// <summary>For a hub started with --urls http://127.0.0.1:0: the address Kestrel reports.</summary>
    public async Task<Uri> WaitForListeningAsync()
    {
        await WaitForLogAsync("Now listening on:").ConfigureAwait(false);
        var match = ListeningPattern().Match(Log);
        return new Uri(match.Groups[1].Value);
    }

    /// <summary>
    /// SIGTERM, as an orchestrator or Ctrl-C stops a process, then waits for it to exit; SIGKILL
    /// after <paramref name="timeout"/>. Returns how long the process took to exit.
    /// </summary>
    public async Task<TimeSpan> TerminateAsync(TimeSpan timeout)
    {
        var watch = Stopwatch.StartNew();
        using (var kill = Process.Start(new ProcessStartInfo("kill", ["-TERM", Pid.ToString(CultureInfo.InvariantCulture)]) { UseShellExecute = false })!)
        {
            await kill.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        }
        try
        {
            await _process.WaitForExitAsync().WaitAsync(timeout).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            Kill();
        }
        return watch.Elapsed;
    }

    /// <summary>SIGKILL.</summary>
    public void Kill()
    {
        try
        {
            if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // exited meanwhile
        }
        _process.WaitForExit(10_000);
    }

    public void Dispose()
    {
        Kill();
        _process.Dispose();
        _logged.Dispose();
    }

    [GeneratedRegex(@"Now listening on: (http://[^\s]+)")]
    private static partial Regex ListeningPattern();
}
