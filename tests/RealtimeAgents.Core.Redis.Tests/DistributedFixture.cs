using System.Diagnostics;
using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using RealtimeAgents.Client;
using RealtimeAgents.Contracts;
using RealtimeAgents.Server;
using RealtimeAgents.Testing;

namespace RealtimeAgents.Core.Redis.Tests;

/// <summary>
/// The distributed topology from real parts: a redis-server, a hub (this process, Redis mode, no
/// in-process worker) and worker processes started from the Worker's build output, each stopped
/// by its PID.
/// </summary>
public sealed class Distributed : IAsyncDisposable
{
    private readonly List<WorkerProcess> _workers = [];
    private readonly List<RealtimeAgentsClient> _clients = [];
    private WebApplication? _hub;

    public RedisServer Redis { get; private set; } = null!;
    public string Prefix { get; } = RedisServer.UniquePrefix();
    public Uri HubUrl { get; private set; } = null!;
    public IReadOnlyList<WorkerProcess> Workers => _workers;

    public static async Task<Distributed> StartAsync(bool appendOnly = false)
    {
        var d = new Distributed { Redis = await RedisServer.StartAsync(new RedisServerOptions { AppendOnly = appendOnly }) };
        var builder = RealtimeAgentsServer.CreateBuilder(
        [
            "--urls", "http://127.0.0.1:0", "--environment", "Testing",
            "--RealtimeAgents:Redis", d.Redis.ConnectionString,
            "--RealtimeAgents:RedisKeyPrefix", d.Prefix,
            "--RealtimeAgents:Relay:IdleCheckInterval", "00:00:01",
        ], b => b.Logging.SetMinimumLevel(LogLevel.Warning));
        d._hub = RealtimeAgentsServer.Build(builder);
        await d._hub.StartAsync().DefaultTimeout(20_000);
        string address = d._hub.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        d.HubUrl = new Uri(new Uri(address), HubMethods.Path);
        return d;
    }

    public T Get<T>() where T : notnull => _hub!.Services.GetRequiredService<T>();

    /// <summary>Starts a worker process named <paramref name="name"/> (its queue consumer name) and waits until it is ready.</summary>
    public async Task<WorkerProcess> StartWorkerAsync(string name, TimeSpan? visibility = null)
    {
        var worker = WorkerProcess.Start(name, new Dictionary<string, string>
        {
            ["RealtimeAgents__Redis"] = Redis.ConnectionString,
            ["RealtimeAgents__RedisKeyPrefix"] = Prefix,
            ["RealtimeAgents__Worker__ConsumerName"] = name,
            ["RealtimeAgents__Queue__VisibilityTimeout"] = (visibility ?? TimeSpan.FromSeconds(2)).ToString("c", CultureInfo.InvariantCulture),
            ["Logging__LogLevel__Default"] = "Information",
        });
        _workers.Add(worker);
        await worker.WaitForLogAsync("takes up to").DefaultTimeout(20_000);
        return worker;
    }

    public async Task<RealtimeAgentsClient> ConnectAsync()
    {
        var client = await RealtimeAgentsClient.ConnectAsync(HubUrl).DefaultTimeout();
        _clients.Add(client);
        return client;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var c in _clients) await c.DisposeAsync().AsTask().DefaultTimeout();
        foreach (var w in _workers) w.Dispose();
        if (_hub is not null)
        {
            await _hub.StopAsync().DefaultTimeout(20_000);
            await _hub.DisposeAsync().AsTask().DefaultTimeout();
        }
        await Redis.DisposeAsync().AsTask().DefaultTimeout();
    }
}

/// <summary>A RealtimeAgents.Worker process; killed by PID when disposed.</summary>
public sealed class WorkerProcess : IDisposable
{
    private readonly Process _process;
    private readonly List<string> _log = [];
    private readonly SemaphoreSlim _logged = new(0);

    private WorkerProcess(Process process, string name)
    {
        _process = process;
        Name = name;
    }

    public string Name { get; }
    public int Pid => _process.Id;
    public bool HasExited => _process.HasExited;
    public string Log { get { lock (_log) return string.Join('\n', _log); } }

    public static WorkerProcess Start(string name, IDictionary<string, string> environment)
    {
        string dll = Path.Combine(AppContext.BaseDirectory, "RealtimeAgents.Worker.dll");
        if (!File.Exists(dll)) throw new FileNotFoundException("The worker's build output is missing next to the tests", dll);
        var info = new ProcessStartInfo("dotnet", [dll])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = AppContext.BaseDirectory,
        };
        foreach (var (k, v) in environment) info.Environment[k] = v;
        var process = Process.Start(info) ?? throw new InvalidOperationException("could not start the worker");
        var worker = new WorkerProcess(process, name);
        process.OutputDataReceived += (_, e) => worker.Append(e.Data);
        process.ErrorDataReceived += (_, e) => worker.Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return worker;
    }

    private void Append(string? line)
    {
        if (line is null) return;
        lock (_log) _log.Add(line);
        _logged.Release();
    }

    public async Task WaitForLogAsync(string text)
    {
        while (!Log.Contains(text, StringComparison.Ordinal))
        {
            if (_process.HasExited) throw new InvalidOperationException($"worker {Name} exited ({_process.ExitCode}):\n{Log}");
            await _logged.WaitAsync(TimeSpan.FromMilliseconds(200));
        }
    }

    /// <summary>SIGKILL: the process dies without a word, as on a crashed machine.</summary>
    public void Kill()
    {
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        _process.WaitForExit(10_000);
    }

    public void Dispose()
    {
        Kill();
        _process.Dispose();
    }
}
