using System.Threading.Channels;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using RealtimeAgents.Agents.Llm;
using RealtimeAgents.Contracts;
using RealtimeAgents.Core;
using RealtimeAgents.Core.Relay;
using RealtimeAgents.Core.Runtime;
using RealtimeAgents.Testing;

namespace RealtimeAgents.Agents.Tests;

/// <summary>
/// The embedded runtime (in-memory stores, task service, relay, one worker) with the built-in
/// agents, the llm agent pointed at a <see cref="FakeChatServer"/>.
/// </summary>
internal sealed class LlmKit : IAsyncDisposable
{
    public static readonly Caller Owner = Caller.User("alice");
    private readonly ServiceProvider _services;
    private AgentWorker? _worker;

    private LlmKit(FakeChatServer server, Action<LlmOptions>? configure)
    {
        Server = server;
        var services = new ServiceCollection();
        services.AddLogging(b => b.SetMinimumLevel(LogLevel.Warning));
        services.AddRealtimeAgentsCore().AddInMemoryStores().AddBuiltInAgents();
        services.Configure<LlmOptions>(o =>
        {
            o.BaseUrl = server.BaseUrl.ToString();
            o.ApiKey = "sk-test-key";
            o.Model = "gpt-4o-mini";
            o.SystemPrompt = "You are a test assistant.";
            configure?.Invoke(o);
        });
        _services = services.BuildServiceProvider();
    }

    public FakeChatServer Server { get; }
    public TaskService Tasks => Get<TaskService>();
    public ThreadService Threads => Get<ThreadService>();
    public T Get<T>() where T : notnull => _services.GetRequiredService<T>();

    public static async Task<LlmKit> StartAsync(Action<LlmOptions>? configure = null)
    {
        var kit = new LlmKit(await FakeChatServer.StartAsync(), configure);
        kit._worker = ActivatorUtilities.CreateInstance<AgentWorker>(kit._services,
            Microsoft.Extensions.Options.Options.Create(new WorkerOptions { ShutdownGrace = TimeSpan.FromMilliseconds(200) }));
        await kit._worker.StartAsync(CancellationToken.None).DefaultTimeout();
        return kit;
    }

    public Task<SubmitTaskResult> SubmitAsync(string input, string? threadId = null, object? options = null) =>
        Tasks.SubmitAsync(Owner, new SubmitTaskRequest
        {
            Agent = "llm", Input = input, ThreadId = threadId,
            Options = options is null ? null : System.Text.Json.JsonSerializer.SerializeToElement(options),
        }).DefaultTimeout();

    /// <summary>Every event of the task from the start through its terminal event.</summary>
    public async Task<List<AgentEvent>> CollectAsync(string taskId, int timeoutMs = 15_000)
    {
        var sink = new Sink();
        await using var sub = await Get<EventRelay>().SubscribeAsync(taskId, Cursor.Start, sink).DefaultTimeout();
        await sub.Completion.DefaultTimeout(timeoutMs);
        return [.. sink.Events];
    }

    /// <summary>Waits for the first event of <paramref name="kind"/> in the task's log.</summary>
    public async Task<AgentEvent> WaitForAsync(string taskId, string kind)
    {
        var sink = new Sink();
        await using var sub = await Get<EventRelay>().SubscribeAsync(taskId, Cursor.Start, sink).DefaultTimeout();
        await foreach (var e in sink.Channel.Reader.ReadAllAsync())
        {
            if (e.Kind == kind) return e;
        }
        throw new InvalidOperationException($"task {taskId} ended without {kind}");
    }

    /// <summary>Waits until the task's text so far is <paramref name="text"/>.</summary>
    public async Task WaitForTextAsync(string taskId, string text)
    {
        var sink = new Sink();
        var sofar = new System.Text.StringBuilder();
        await using var sub = await Get<EventRelay>().SubscribeAsync(taskId, Cursor.Start, sink).DefaultTimeout();
        await foreach (var e in sink.Channel.Reader.ReadAllAsync())
        {
            if (e.Kind == EventKinds.TextDelta) sofar.Append(e.DataAs<TextData>().Delta);
            if (sofar.ToString() == text) return;
        }
        throw new InvalidOperationException($"task {taskId} ended with text '{sofar}'");
    }

    public async ValueTask DisposeAsync()
    {
        if (_worker is not null) await _worker.StopAsync(CancellationToken.None).DefaultTimeout(15_000);
        await _services.DisposeAsync();
        await Server.DisposeAsync();
    }

    private sealed class Sink : IEventSink
    {
        public List<AgentEvent> Events { get; } = [];
        public Channel<AgentEvent> Channel { get; } = System.Threading.Channels.Channel.CreateUnbounded<AgentEvent>();

        public ValueTask DeliverAsync(EventRecord record, CancellationToken cancellationToken)
        {
            var agentEvent = record.ToAgentEvent();
            lock (Events) Events.Add(agentEvent);
            Channel.Writer.TryWrite(agentEvent);
            if (EventKinds.IsTerminal(agentEvent.Kind)) Channel.Writer.TryComplete();
            return ValueTask.CompletedTask;
        }

        public ValueTask EndAsync(SubscriptionEnded ended, CancellationToken cancellationToken)
        {
            Channel.Writer.TryComplete();
            return ValueTask.CompletedTask;
        }
    }
}
