using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using RealtimeAgents.Agents;
using RealtimeAgents.Contracts;
using RealtimeAgents.Core.Relay;
using RealtimeAgents.Core.Runtime;
using RealtimeAgents.Testing;

namespace RealtimeAgents.Core.Tests;

/// <summary>The embedded stack (in-memory stores, task service, relay, worker) without a web host.</summary>
internal sealed class RuntimeKit : IAsyncDisposable
{
    private readonly ServiceProvider _services;
    private readonly List<AgentWorker> _started = [];

    public RuntimeKit(Action<IServiceCollection>? configure = null)
    {
        var services = new ServiceCollection();
        services.AddLogging(b => b.SetMinimumLevel(LogLevel.Warning));
        services.AddRealtimeAgentsCore().AddInMemoryStores().AddBuiltInAgents();
        services.AddAgent<FailingAgent>("failing");
        services.AddAgent<EndlessAgent>("endless");
        services.Configure<TaskQueueOptions>(o => o.VisibilityTimeout = TimeSpan.FromSeconds(1));
        services.Configure<RelayOptions>(o => o.IdleCheckInterval = TimeSpan.FromMilliseconds(200));
        configure?.Invoke(services);
        _services = services.BuildServiceProvider();
    }

    public T Get<T>() where T : notnull => _services.GetRequiredService<T>();
    public TaskService Tasks => Get<TaskService>();
    public ThreadService Threads => Get<ThreadService>();

    /// <summary>A worker like the hosted one; several may run against the same stores.</summary>
    public async Task<AgentWorker> StartWorkerAsync(Action<WorkerOptions>? configure = null)
    {
        var worker = CreateWorker(configure);
        await worker.StartAsync(CancellationToken.None).DefaultTimeout();
        _started.Add(worker);
        return worker;
    }

    /// <summary>A worker that is not started: a test hands it leases itself.</summary>
    public AgentWorker CreateWorker(Action<WorkerOptions>? configure = null)
    {
        var options = new WorkerOptions { ShutdownGrace = TimeSpan.FromMilliseconds(200) };
        configure?.Invoke(options);
        return ActivatorUtilities.CreateInstance<AgentWorker>(_services, Microsoft.Extensions.Options.Options.Create(options));
    }

    public static SubmitTaskRequest Demo(string input = "Plan a trip to Kyoto", object? options = null) => new()
    {
        Agent = "demo",
        Input = input,
        Options = JsonSerializer.SerializeToElement(options ?? new { tokens = 8, tokenIntervalMs = 1, firstTokenDelayMs = 0, toolDelayMs = 0 }),
    };

    /// <summary>
    /// Waits until the task's log holds an event of <paramref name="kind"/>: the test acts on a
    /// task that is known to be at that point, not on one a fixed delay hopes is there.
    /// </summary>
    public Task WaitForEventAsync(string taskId, string kind, int timeoutMs = 15_000)
    {
        var log = Get<IEventLog>();
        return Eventually.TrueAsync(async () => (await log.ReadAsync(taskId, StreamId.Zero, 10_000)).Any(e => e.Kind == kind),
            timeoutMs, $"no {kind} event in task {taskId}");
    }

    /// <summary>Subscribes from the start and collects through the terminal event.</summary>
    public async Task<List<AgentEvent>> CollectAsync(string taskId, int timeoutMs = 15_000)
    {
        var sink = new CollectingSink();
        await using var sub = await Get<EventRelay>().SubscribeAsync(taskId, Cursor.Start, sink).DefaultTimeout();
        await sub.Completion.DefaultTimeout(timeoutMs);
        return sink.Snapshot();
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var w in _started) await w.StopAsync(CancellationToken.None).DefaultTimeout(15_000);
        await _services.DisposeAsync();
    }
}

/// <summary>Opens a block of each kind, then throws.</summary>
internal sealed class FailingAgent : IAgent
{
    public async Task<AgentResult> RunAsync(AgentContext context, CancellationToken cancellationToken)
    {
        var reasoning = await context.StartReasoningAsync();
        await reasoning.WriteAsync("hmm");
        await reasoning.EndAsync();
        var call = await context.StartToolCallAsync("lookup");
        await call.ArgsAsync("{\"q\":");
        var text = await context.StartTextAsync();
        await text.WriteAsync("partial");
        throw new InvalidOperationException("the model went away");
    }
}

/// <summary>Writes a token every 20 ms until cancelled.</summary>
internal sealed class EndlessAgent : IAgent
{
    public async Task<AgentResult> RunAsync(AgentContext context, CancellationToken cancellationToken)
    {
        var text = await context.StartTextAsync();
        for (int i = 0; ; i++)
        {
            await Task.Delay(20, cancellationToken);
            await text.WriteAsync($" t{i}");
        }
    }
}
