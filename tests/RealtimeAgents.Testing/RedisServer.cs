using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;

namespace RealtimeAgents.Testing;

/// <summary>Options for <see cref="RedisServer.StartAsync"/>.</summary>
public sealed class RedisServerOptions
{
    /// <summary>Turns on AOF persistence (appendonly yes, appendfsync everysec) so data survives a restart.</summary>
    public bool AppendOnly { get; init; }

    /// <summary>Extra redis-server arguments, e.g. <c>["--requirepass", "secret"]</c>.</summary>
    public IReadOnlyList<string> ExtraArgs { get; init; } = [];

    /// <summary>How long to wait for PING to answer after starting.</summary>
    public TimeSpan StartTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>A password the readiness probe sends with AUTH (when ExtraArgs set requirepass).</summary>
    public string? Password { get; init; }
}

/// <summary>
/// A real redis-server on a free 127.0.0.1 port, in a fresh temp directory, owned by this object:
/// stopped by PID and its directory deleted on dispose. Never a mock.
/// </summary>
public sealed partial class RedisServer : IAsyncDisposable
{
    private const int SIGKILL = 9;
    private const int SIGTERM = 15;
    private const int SIGCONT = 18;
    private const int SIGSTOP = 19;

    private readonly RedisServerOptions _options;
    private Process? _process;
    private Process? _watchdog;
    private bool _disposed;

    private RedisServer(RedisServerOptions options, int port, string directory)
    {
        _options = options;
        Port = port;
        Directory = directory;
    }

    public int Port { get; }

    /// <summary>The data directory (AOF files, log, unix socket if configured).</summary>
    public string Directory { get; }

    /// <summary>PID of the running redis-server, or 0 while stopped.</summary>
    public int Pid => _process is { HasExited: false } p ? p.Id : 0;

    /// <summary><c>127.0.0.1:PORT</c>, a StackExchange.Redis configuration string.</summary>
    public string ConnectionString => "127.0.0.1:" + Port.ToString(CultureInfo.InvariantCulture);

    public string LogFile => Path.Combine(Directory, "redis.log");

    public static async Task<RedisServer> StartAsync(RedisServerOptions? options = null)
    {
        options ??= new RedisServerOptions();
        string executable = FindRedisServer();
        Exception? last = null;
        for (int attempt = 0; attempt < 3; attempt++)
        {
            string directory = Path.Combine(Path.GetTempPath(), "ra-redis-" + Guid.NewGuid().ToString("N")[..12]);
            System.IO.Directory.CreateDirectory(directory);
            var server = new RedisServer(options, FreePort(), directory);
            try
            {
                await server.LaunchAsync(executable).ConfigureAwait(false);
                return server;
            }
            catch (InvalidOperationException ex)
            {
                // Most likely the port was taken between probing and binding; try another.
                last = ex;
                await server.DisposeAsync().ConfigureAwait(false);
            }
        }

        throw new InvalidOperationException("Could not start redis-server after 3 attempts.", last);
    }

    /// <summary>A key prefix no other test uses, e.g. <c>t3f9a1c2e:</c>.</summary>
    public static string UniquePrefix() => "t" + Guid.NewGuid().ToString("N")[..8] + ":";

    /// <summary>SIGTERM, wait up to <paramref name="grace"/> (default 5 s), then SIGKILL.</summary>
    public async Task StopAsync(TimeSpan? grace = null)
    {
        Process? process = _process;
        if (process is null)
        {
            return;
        }

        if (!process.HasExited)
        {
            _ = Kill(process.Id, SIGCONT); // a SIGSTOPped server would never act on SIGTERM
            _ = Kill(process.Id, SIGTERM);
            using var cts = new CancellationTokenSource(grace ?? TimeSpan.FromSeconds(5));
            try
            {
                await process.WaitForExitAsync(cts.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                _ = Kill(process.Id, SIGKILL);
                await process.WaitForExitAsync().ConfigureAwait(false);
            }
        }

        process.Dispose();
        _process = null;
        StopWatchdog();
    }

    /// <summary>SIGKILL: the server dies without closing anything gracefully.</summary>
    public async Task KillAsync()
    {
        Process? process = _process;
        if (process is null)
        {
            return;
        }

        if (!process.HasExited)
        {
            _ = Kill(process.Id, SIGKILL);
            await process.WaitForExitAsync().ConfigureAwait(false);
        }

        process.Dispose();
        _process = null;
        StopWatchdog();
    }

    /// <summary>Stops (SIGTERM) and starts again on the same port and directory.</summary>
    public async Task RestartAsync()
    {
        await StopAsync().ConfigureAwait(false);
        await StartAgainAsync().ConfigureAwait(false);
    }

    /// <summary>Starts a stopped or killed server again on the same port and directory.</summary>
    public Task StartAgainAsync()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_process is not null)
        {
            throw new InvalidOperationException("The server is still running.");
        }

        return LaunchAsync(FindRedisServer());
    }

    /// <summary>SIGSTOP: the process freezes; its sockets stay open but nothing is answered.</summary>
    public void Pause() => Signal(SIGSTOP);

    /// <summary>SIGCONT after <see cref="Pause"/>.</summary>
    public void Resume() => Signal(SIGCONT);

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        await StopAsync(TimeSpan.FromSeconds(2)).ConfigureAwait(false);
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    private void Signal(int signal)
    {
        Process process = _process ?? throw new InvalidOperationException("The server is not running.");
        if (Kill(process.Id, signal) != 0)
        {
            throw new InvalidOperationException($"kill({process.Id}, {signal}) failed: errno {Marshal.GetLastPInvokeError()}.");
        }
    }

    private async Task LaunchAsync(string executable)
    {
        var start = new ProcessStartInfo(executable)
        {
            UseShellExecute = false,
            WorkingDirectory = Directory,
        };
        string[] args =
        [
            "--port", Port.ToString(CultureInfo.InvariantCulture),
            "--bind", "127.0.0.1",
            "--save", "",
            "--dir", Directory,
            "--logfile", LogFile,
            "--daemonize", "no",
            "--appendonly", _options.AppendOnly ? "yes" : "no",
            "--enable-debug-command", "local",
        ];
        foreach (string arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        if (_options.AppendOnly)
        {
            start.ArgumentList.Add("--appendfsync");
            start.ArgumentList.Add("everysec");
        }

        foreach (string arg in _options.ExtraArgs)
        {
            start.ArgumentList.Add(arg);
        }

        _process = Process.Start(start) ?? throw new InvalidOperationException("redis-server did not start.");
        StartWatchdog(_process.Id);
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            if (_process.HasExited)
            {
                string log = File.Exists(LogFile) ? await File.ReadAllTextAsync(LogFile).ConfigureAwait(false) : "(no log)";
                _process.Dispose();
                _process = null;
                StopWatchdog();
                throw new InvalidOperationException($"redis-server exited during start-up on port {Port}: {log}");
            }

            if (await PingAsync().ConfigureAwait(false))
            {
                return;
            }

            if (deadline.Elapsed > _options.StartTimeout)
            {
                await KillAsync().ConfigureAwait(false);
                throw new InvalidOperationException($"redis-server on port {Port} did not answer PING within {_options.StartTimeout.TotalSeconds} s.");
            }

            await Task.Delay(20).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// A test host killed by a hang timeout never runs DisposeAsync, and its redis-servers would live on. A
    /// small shell loop watches this process: if it disappears while the server is still running, it
    /// SIGKILLs the server. It kills nothing once the server itself is gone (its PID may be reused).
    /// </summary>
    private void StartWatchdog(int redisPid)
    {
        int self = Environment.ProcessId;
        var start = new ProcessStartInfo("/bin/sh") { UseShellExecute = false };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add(
            $"while kill -0 {redisPid} 2>/dev/null; do if ! kill -0 {self} 2>/dev/null; then kill -9 {redisPid}; exit 0; fi; sleep 0.5; done");
        try
        {
            _watchdog = Process.Start(start);
        }
        catch (System.ComponentModel.Win32Exception)
        {
            _watchdog = null; // no /bin/sh: run without the safety net
        }
    }

    private void StopWatchdog()
    {
        Process? watchdog = _watchdog;
        _watchdog = null;
        if (watchdog is null)
        {
            return;
        }

        try
        {
            if (!watchdog.HasExited)
            {
                watchdog.Kill();
                watchdog.WaitForExit(1000);
            }
        }
        catch (InvalidOperationException)
        {
        }

        watchdog.Dispose();
    }

    private async Task<bool> PingAsync()
    {
        try
        {
            using var client = new TcpClient();
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(1));
            await client.ConnectAsync(IPAddress.Loopback, Port, cts.Token).ConfigureAwait(false);
            NetworkStream stream = client.GetStream();
            // PING proves it serves; process_id proves it is *our* process and not another test's server that
            // grabbed the port between our probe and our bind (ours then exits, and we retry elsewhere).
            string request = (_options.Password is null ? "" : $"AUTH {_options.Password}\r\n") + "PING\r\nINFO server\r\n";
            await stream.WriteAsync(Encoding.ASCII.GetBytes(request), cts.Token).ConfigureAwait(false);
            var buffer = new byte[4096];
            var received = new StringBuilder();
            while (true)
            {
                string text = received.ToString();
                int pid = text.IndexOf("process_id:", StringComparison.Ordinal);
                int end = pid < 0 ? -1 : text.IndexOf('\r', pid);
                if (end > 0)
                {
                    return text.Contains("+PONG", StringComparison.Ordinal)
                        && _process is { } process
                        && text[(pid + "process_id:".Length)..end] == process.Id.ToString(CultureInfo.InvariantCulture);
                }

                if (text.Contains("-LOADING", StringComparison.Ordinal) || text.Contains("-NOAUTH", StringComparison.Ordinal))
                {
                    return false;
                }

                int n = await stream.ReadAsync(buffer, cts.Token).ConfigureAwait(false);
                if (n == 0)
                {
                    return false;
                }

                received.Append(Encoding.ASCII.GetString(buffer, 0, n));
            }
        }
        catch (Exception ex) when (ex is SocketException or IOException or OperationCanceledException)
        {
            return false;
        }
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public static string FindRedisServer()
    {
        foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            string candidate = Path.Combine(dir, "redis-server");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new InvalidOperationException("redis-server not found: run ./test.sh (it installs it) or `apt-get install -y redis-server`");
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}

/// <summary>
/// One redis-server shared by the tests of a class: <c>public class MyTests(RedisServerFixture redis) : IClassFixture&lt;RedisServerFixture&gt;</c>.
/// Tests sharing it must use <see cref="RedisServer.UniquePrefix"/> for their keys. Tests that stop,
/// pause or restart the server start their own with <see cref="RedisServer.StartAsync"/> instead.
/// </summary>
public sealed class RedisServerFixture : Xunit.IAsyncLifetime
{
    private RedisServer? _server;

    public RedisServer Server => _server ?? throw new InvalidOperationException("The fixture has not been initialized.");

    public async Task InitializeAsync() => _server = await RedisServer.StartAsync().ConfigureAwait(false);

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync().ConfigureAwait(false);
        }
    }
}
