using System.Diagnostics;
using System.Text.Json;
using Microsoft.Agents.AI;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using RealtimeAgents.Client;
using RealtimeAgents.Contracts;
using RealtimeAgents.Server;
using RealtimeAgents.Testing;

namespace RealtimeAgents.Agents.Tests;

/// <summary>
/// The shipped server (embedded mode unless settings say otherwise) serving two Agent Framework
/// agents on a <see cref="ScriptedChatClient"/>: "af" with a get_weather function, and
/// "af-approve" with the same function wrapped as approval-required. Disposing stops it.
/// </summary>
internal sealed class AgentFrameworkHub : IAsyncDisposable
{
    private WebApplication _app = null!;
    private int _toolRuns;

    public ScriptedChatClient Model { get; } = new();
    public RealtimeAgentsClient Client { get; private set; } = null!;
    public Uri HubUrl { get; private set; } = null!;
    public IServiceProvider Services => _app.Services;

    /// <summary>How many times get_weather ran.</summary>
    public int ToolRuns => Volatile.Read(ref _toolRuns);

    public static async Task<AgentFrameworkHub> StartAsync(params string[] settings)
    {
        var hub = new AgentFrameworkHub();
        var weather = AIFunctionFactory.Create((string city) =>
        {
            Interlocked.Increment(ref hub._toolRuns);
            return "sunny";
        }, "get_weather", "The weather in a city.");
        var builder = RealtimeAgentsServer.CreateBuilder(["--urls", "http://127.0.0.1:0", "--environment", "Testing", .. settings], b =>
        {
            b.Logging.SetMinimumLevel(LogLevel.Warning);
            b.Services.AddAgent("af", _ => new ChatClientAgent(hub.Model, instructions: "You answer briefly.", name: "af", tools: [weather]));
            b.Services.AddAgent("af-approve", _ => new ChatClientAgent(hub.Model, instructions: "You answer briefly.", name: "af-approve",
                tools: [new ApprovalRequiredAIFunction(weather)]));
        });
        hub._app = RealtimeAgentsServer.Build(builder);
        await hub._app.StartAsync().DefaultTimeout(20_000);
        string address = hub._app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        hub.HubUrl = new Uri(new Uri(address), HubMethods.Path);
        hub.Client = await RealtimeAgentsClient.ConnectAsync(hub.HubUrl).DefaultTimeout();
        return hub;
    }

    public async Task<List<AgentEvent>> RunAsync(string agent, string input, string? threadId = null, object? options = null)
    {
        var task = await Client.SubmitAsync(new SubmitTaskRequest
        {
            Agent = agent, Input = input, ThreadId = threadId,
            Options = options is null ? null : JsonSerializer.SerializeToElement(options),
        }).DefaultTimeout();
        return await CollectAsync(await Client.SubscribeAsync(task.TaskId).DefaultTimeout());
    }

    public static async Task<List<AgentEvent>> CollectAsync(TaskSubscription sub, Func<AgentEvent, Task>? onEvent = null, int timeoutMs = 15_000)
    {
        var list = new List<AgentEvent>();
        using var cts = new CancellationTokenSource(timeoutMs);
        try
        {
            await foreach (var e in sub.ReadEventsAsync(cts.Token))
            {
                list.Add(e);
                if (onEvent is not null) await onEvent(e);
            }
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested)
        {
            throw new TimeoutException($"task {sub.TaskId}: no terminal event within {timeoutMs} ms; got {string.Join(" ", list.Select(e => e.Kind))}");
        }
        return list;
    }

    /// <summary>
    /// The task's events as the official JavaScript SignalR client (@microsoft/signalr, from the
    /// TypeScript SDK's node_modules) receives them, through the same hub methods.
    /// </summary>
    public async Task<List<JsonElement>> SubscribeWithJsClientAsync(string taskId)
    {
        string root = RepoRoot();
        var psi = new ProcessStartInfo("node", [Path.Combine(AppContext.BaseDirectory, "js", "subscribe.mjs"), HubUrl.ToString(), taskId])
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        psi.Environment["SIGNALR_PACKAGE_JSON"] = Path.Combine(root, "clients", "typescript", "package.json");
        using var node = Process.Start(psi)!;
        try
        {
            var stdout = node.StandardOutput.ReadToEndAsync();
            var stderr = node.StandardError.ReadToEndAsync();
            await node.WaitForExitAsync().DefaultTimeout(20_000);
            if (node.ExitCode != 0) throw new InvalidOperationException($"node exited {node.ExitCode}: {await stderr}");
            return [.. (await stdout).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement.Clone())];
        }
        finally
        {
            if (!node.HasExited) node.Kill();
        }
    }

    private static string RepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "RealtimeAgents.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("RealtimeAgents.sln not found above the test output.");
    }

    public async ValueTask DisposeAsync()
    {
        if (Client is not null) await Client.DisposeAsync().AsTask().DefaultTimeout();
        await _app.StopAsync().DefaultTimeout(20_000);
        await _app.DisposeAsync().AsTask().DefaultTimeout();
    }
}
