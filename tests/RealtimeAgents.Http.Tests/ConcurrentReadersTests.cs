using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.RegularExpressions;
using RealtimeAgents.Conformance;
using RealtimeAgents.Contracts;
using RealtimeAgents.Server.Http;
using RealtimeAgents.Testing;
using Xunit;
using Xunit.Abstractions;

namespace RealtimeAgents.Http.Tests;

/// <summary>
/// The shipped server as its own process (so its memory is its own), started from this test's
/// output directory on a free loopback port and stopped by its PID.
/// </summary>
public sealed partial class ServerProcess : IAsyncLifetime
{
    private Process? _process;

    public Uri BaseAddress { get; private set; } = null!;
    public int Pid => _process!.Id;

    public async Task InitializeAsync()
    {
        string dll = Path.Combine(AppContext.BaseDirectory, "RealtimeAgents.Server.dll");
        var start = new ProcessStartInfo("dotnet", [dll, "--urls", "http://127.0.0.1:0"])
        {
            WorkingDirectory = AppContext.BaseDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            Environment = { ["DOTNET_ENVIRONMENT"] = "Testing", ["ASPNETCORE_ENVIRONMENT"] = "Testing" },
        };
        _process = Process.Start(start)!;
        var listening = new TaskCompletionSource<Uri>(TaskCreationOptions.RunContinuationsAsynchronously);
        _process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is { } line && Listening().Match(line) is { Success: true } m) listening.TrySetResult(new Uri(m.Groups[1].Value));
        };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        BaseAddress = await listening.Task.DefaultTimeout(30_000);
    }

    /// <summary>Resident memory of the server process, from /proc.</summary>
    public long ResidentBytes()
    {
        foreach (string line in File.ReadLines($"/proc/{Pid}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
            }
        }
        throw new InvalidOperationException("no VmRSS");
    }

    public async Task DisposeAsync()
    {
        if (_process is null) return;
        if (!_process.HasExited)
        {
            _process.Kill();
            await _process.WaitForExitAsync().DefaultTimeout(10_000);
        }
        _process.Dispose();
    }

    [GeneratedRegex(@"Now listening on: (http://127\.0\.0\.1:\d+)")]
    private static partial Regex Listening();
}

/// <summary>A bounded load test on one node: a thousand SSE readers of one task. It reports memory; it asserts only correctness.</summary>
public sealed class ConcurrentReadersTests(ServerProcess server, ITestOutputHelper output) : IClassFixture<ServerProcess>
{
    private const int Readers = 1_000;

    [Fact]
    public async Task AThousandConcurrentSseReadersOfOneTask_EachReceiveTheWholeStream_ThroughTheTerminalEvent()
    {
        using var http = new HttpClient(new SocketsHttpHandler { MaxResponseDrainSize = 0 }) { BaseAddress = server.BaseAddress, Timeout = TimeSpan.FromMinutes(2) };

        // Warm up (JIT, pools) with one complete read, so the baseline is a running server.
        var warm = await SubmitAsync(http, new { tokens = 5, tokenIntervalMs = 1, firstTokenDelayMs = 0, toolCalls = 1, toolDelayMs = 0, reasoning = false });
        Assert.Equal(EventKinds.TaskCompleted, (await ReadAllAsync(http, warm.TaskId, null)).Last().Kind);
        await Task.Delay(500);
        long before = server.ResidentBytes();

        // A task that writes a few events and then waits, so every reader is attached at once.
        var task = await SubmitAsync(http, new { tokens = 3, tokenIntervalMs = 1, firstTokenDelayMs = 60_000, toolCalls = 1, toolDelayMs = 0, reasoning = false });
        using var attached = new CountdownEvent(Readers);
        var readers = Enumerable.Range(0, Readers).Select(_ => Task.Run(() => ReadAllAsync(http, task.TaskId, attached))).ToList();
        Assert.True(await Task.Run(() => attached.Wait(TimeSpan.FromSeconds(60))).DefaultTimeout(65_000),
            $"{attached.CurrentCount} of {Readers} readers did not attach");
        await Task.Delay(500);
        long peak = server.ResidentBytes();

        using var interrupt = await http.PostAsync($"/tasks/{task.TaskId}/interrupt", null).DefaultTimeout();
        Assert.Equal(HttpStatusCode.Accepted, interrupt.StatusCode);
        var results = await Task.WhenAll(readers).DefaultTimeout(60_000);

        var reference = results[0];
        foreach (var events in results)
        {
            StreamAssert.CompleteTask(events);
            Assert.Equal(reference.Select(e => e.Id), events.Select(e => e.Id));
        }
        Assert.Equal(EventKinds.TaskCancelled, reference[^1].Kind);

        double perReader = (peak - before) / (double)Readers;
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{Readers} SSE readers of one task ({reference.Count} events each): server RSS {before / 1048576.0:F1} MiB before, {peak / 1048576.0:F1} MiB with all attached, {perReader / 1024:F1} KiB per reader"));
    }

    private static async Task<TaskCreatedResponse> SubmitAsync(HttpClient http, object options)
    {
        using var response = await http.PostAsync("/tasks", HttpServerFixture.Json(HttpServerFixture.Demo(options))).DefaultTimeout();
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<TaskCreatedResponse>().DefaultTimeout())!;
    }

    private static async Task<List<AgentEvent>> ReadAllAsync(HttpClient http, string taskId, CountdownEvent? attached)
    {
        using var response = await http.GetAsync($"/tasks/{taskId}/events", HttpCompletionOption.ResponseHeadersRead).DefaultTimeout(60_000);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await using var reader = new SseReader(response);
        var frames = new List<SseFrame>();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        while (await reader.ReadAsync(cts.Token) is { } frame)
        {
            frames.Add(frame);
            if (frame.Event == "stream.open") attached?.Signal();
        }
        return frames.Events();
    }
}
