using System.Collections.Concurrent;
using System.Net;
using System.Runtime.CompilerServices;
using System.Text.Json.Serialization;
using System.Threading.Channels;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using RealtimeAgents.Contracts;

namespace RealtimeAgents.Client;

/// <summary>Connection settings of <see cref="RealtimeAgentsClient"/>.</summary>
public sealed class RealtimeAgentsClientOptions
{
    /// <summary>Supplies a bearer token for each (re)connect.</summary>
    public Func<Task<string?>>? AccessTokenProvider { get; set; }
    /// <summary>Extra request headers for the WebSocket handshake.</summary>
    public IDictionary<string, string> Headers { get; } = new Dictionary<string, string>();
    /// <summary>Reconnect automatically after a lost connection, then resume every subscription (default true).</summary>
    public bool AutomaticReconnect { get; set; } = true;
    /// <summary>Logging for the underlying HubConnection.</summary>
    public ILoggerFactory? LoggerFactory { get; set; }
}

/// <summary>
/// A connection to a RealtimeAgents hub. Subscriptions keep their last cursor and resume from it
/// after a reconnect or when the server ends them early, so a reader never sees a gap or a repeat.
/// </summary>
public sealed class RealtimeAgentsClient : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, TaskSubscription> _subscriptions = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Channel<ThreadTaskNotice>> _threads = new(StringComparer.Ordinal);

    private RealtimeAgentsClient(HubConnection connection, WebSocketConnectionFactory factory)
    {
        Connection = connection;
        ConnectionFactory = factory;
        connection.On<AgentEvent>(HubMethods.Event, OnEvent);
        connection.On<SubscriptionEnded>(HubMethods.SubscriptionEnded, OnSubscriptionEnded);
        connection.On<ThreadTaskNotice>(HubMethods.ThreadTask, n =>
        {
            if (_threads.TryGetValue(n.ThreadId, out var ch)) ch.Writer.TryWrite(n);
        });
        connection.Reconnected += _ => ResumeAllAsync();
        connection.Closed += OnClosedAsync;
    }

    private static readonly TimeSpan[] RestartDelays =
        [TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(5)];

    private readonly CancellationTokenSource _disposing = new();
    private bool _restartOnClose = true;

    /// <summary>How many times the client restarted its connection after the server closed it.</summary>
    public int Restarts { get; private set; }

    // The server may close a connection outright (a slow client cut off, a node shutting down): the
    // HubConnection then does not reconnect by itself. Unless we are being disposed, start it again
    // and resume every subscription from its cursor.
    private async Task OnClosedAsync(Exception? error)
    {
        for (int attempt = 0; _restartOnClose && !_disposing.IsCancellationRequested; attempt++)
        {
            try
            {
                await Task.Delay(RestartDelays[Math.Min(attempt, RestartDelays.Length - 1)], _disposing.Token).ConfigureAwait(false);
                await Connection.StartAsync(_disposing.Token).ConfigureAwait(false);
                Restarts++;
                await ResumeAllAsync().ConfigureAwait(false);
                return;
            }
            catch (OperationCanceledException) when (_disposing.IsCancellationRequested)
            {
                return;
            }
            catch (Exception)
            {
                // Not reachable yet; try again after a longer pause.
            }
        }
    }

    /// <summary>The underlying SignalR connection.</summary>
    public HubConnection Connection { get; }

    /// <summary>The transport factory (its <see cref="WebSocketConnectionFactory.AbortConnections"/> simulates a network drop).</summary>
    public WebSocketConnectionFactory ConnectionFactory { get; }

    /// <summary>Connects to the hub at <paramref name="hubUrl"/> (e.g. http://localhost:5080/hubs/agents).</summary>
    public static Task<RealtimeAgentsClient> ConnectAsync(Uri hubUrl, RealtimeAgentsClientOptions? options = null,
        CancellationToken cancellationToken = default) =>
        ConnectAsync([hubUrl], options, cancellationToken);

    /// <summary>
    /// Connects to one of several hub nodes (tried in turn); after a lost connection it reconnects
    /// to whichever answers and resumes every subscription there.
    /// </summary>
    public static async Task<RealtimeAgentsClient> ConnectAsync(IReadOnlyList<Uri> hubUrls, RealtimeAgentsClientOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(hubUrls);
        options ??= new RealtimeAgentsClientOptions();
        var factory = new WebSocketConnectionFactory(hubUrls, options.AccessTokenProvider,
            new Dictionary<string, string>(options.Headers));
        var builder = new HubConnectionBuilder();
        builder.Services.AddSingleton<IConnectionFactory>(factory);
        builder.Services.AddSingleton<EndPoint>(new UriEndPoint(hubUrls[0]));
        if (options.LoggerFactory is not null) builder.Services.AddSingleton(options.LoggerFactory);
        builder.AddJsonProtocol(o =>
        {
            o.PayloadSerializerOptions.DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull;
            o.PayloadSerializerOptions.TypeInfoResolverChain.Insert(0, ContractsJsonContext.Default);
        });
        if (options.AutomaticReconnect)
        {
            builder.WithAutomaticReconnect([TimeSpan.Zero, TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(1),
                TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(10)]);
        }
        var connection = builder.Build();
        var client = new RealtimeAgentsClient(connection, factory) { _restartOnClose = options.AutomaticReconnect };
        await connection.StartAsync(cancellationToken).ConfigureAwait(false);
        return client;
    }

    /// <summary>Submits a task.</summary>
    public Task<SubmitTaskResult> SubmitAsync(SubmitTaskRequest request, CancellationToken cancellationToken = default) =>
        Connection.InvokeAsync<SubmitTaskResult>(HubMethods.SubmitTask, request, cancellationToken);

    /// <summary>
    /// Subscribes to a task's events from <paramref name="cursor"/> (null: from the start; "$":
    /// live only; an event id: strictly after it). Read them with <see cref="TaskSubscription.ReadEventsAsync"/>.
    /// </summary>
    public async Task<TaskSubscription> SubscribeAsync(string taskId, string? cursor = null, CancellationToken cancellationToken = default)
    {
        var subscription = new TaskSubscription(this, taskId, cursor);
        // Registered before the call: events may arrive before the call's result does.
        if (_subscriptions.TryRemove(taskId, out var previous)) previous.Complete(null);
        _subscriptions[taskId] = subscription;
        try
        {
            subscription.Result = await Connection.InvokeAsync<SubscribeResult>(HubMethods.Subscribe, taskId, cursor, cancellationToken)
                .ConfigureAwait(false);
        }
        catch
        {
            _subscriptions.TryRemove(new KeyValuePair<string, TaskSubscription>(taskId, subscription));
            throw;
        }
        return subscription;
    }

    /// <summary>Stops a subscription.</summary>
    public async Task UnsubscribeAsync(string taskId, CancellationToken cancellationToken = default)
    {
        if (_subscriptions.TryRemove(taskId, out var sub)) sub.Complete(null);
        await Connection.InvokeAsync(HubMethods.Unsubscribe, taskId, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Interrupts a task; it ends with task.cancelled.</summary>
    public Task InterruptAsync(string taskId, string? reason = null, CancellationToken cancellationToken = default) =>
        Connection.InvokeAsync(HubMethods.Interrupt, taskId, reason, cancellationToken);

    /// <summary>Sends a message into a thread with a policy (interrupt, enqueue, reject, inject).</summary>
    public Task<SendMessageResult> SendMessageAsync(string threadId, string text, string policy = MessagePolicies.Interrupt,
        CancellationToken cancellationToken = default) =>
        Connection.InvokeAsync<SendMessageResult>(HubMethods.SendMessage, threadId, text, policy, cancellationToken);

    /// <summary>
    /// Answers a tool call the task waits on (a tool.approval event with status "pending"):
    /// approved, the tool runs; denied, the agent goes on without it. A second answer to the
    /// same call fails with a "conflict" error.
    /// </summary>
    public Task<ApprovalAnswerResult> RespondToApprovalAsync(string taskId, string toolCallId, bool approved, string? reason = null,
        CancellationToken cancellationToken = default) =>
        Connection.InvokeAsync<ApprovalAnswerResult>(HubMethods.RespondToApproval, taskId, toolCallId, approved, reason, cancellationToken);

    /// <summary>A task's metadata.</summary>
    public Task<TaskInfo> GetTaskAsync(string taskId, CancellationToken cancellationToken = default) =>
        Connection.InvokeAsync<TaskInfo>(HubMethods.GetTask, taskId, cancellationToken);

    /// <summary>The thread's tasks so far, and a reader of each new one.</summary>
    public async Task<(ThreadInfo Thread, ChannelReader<ThreadTaskNotice> NewTasks)> WatchThreadAsync(string threadId,
        CancellationToken cancellationToken = default)
    {
        var channel = _threads.GetOrAdd(threadId, _ => Channel.CreateUnbounded<ThreadTaskNotice>());
        var info = await Connection.InvokeAsync<ThreadInfo>(HubMethods.SubscribeThread, threadId, cancellationToken).ConfigureAwait(false);
        return (info, channel.Reader);
    }

    private void OnEvent(AgentEvent ev)
    {
        ev.ReceivedAt = (DateTime.UtcNow.Ticks - DateTime.UnixEpoch.Ticks) / (double)TimeSpan.TicksPerMillisecond;
        if (_subscriptions.TryGetValue(ev.TaskId, out var sub)) sub.Accept(ev);
    }

    private void OnSubscriptionEnded(SubscriptionEnded ended)
    {
        if (_subscriptions.TryGetValue(ended.TaskId, out var sub)) _ = ResumeAsync(sub);
    }

    private async Task ResumeAllAsync()
    {
        foreach (var sub in _subscriptions.Values) await ResumeAsync(sub).ConfigureAwait(false);
    }

    private async Task ResumeAsync(TaskSubscription sub)
    {
        if (sub.IsCompleted) return;
        try
        {
            var result = await Connection.InvokeAsync<SubscribeResult>(HubMethods.Subscribe, sub.TaskId, sub.Cursor).ConfigureAwait(false);
            sub.Result = result;
            if (!result.Recovered) sub.Complete(new SubscriptionLostException(sub.TaskId, sub.Cursor));
            sub.Resumes++;
        }
        catch (Exception ex)
        {
            sub.Complete(ex);
        }
    }

    internal void Remove(TaskSubscription sub) =>
        _subscriptions.TryRemove(new KeyValuePair<string, TaskSubscription>(sub.TaskId, sub));

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _disposing.CancelAsync().ConfigureAwait(false);
        foreach (var sub in _subscriptions.Values) sub.Complete(null);
        await Connection.DisposeAsync().ConfigureAwait(false);
        _disposing.Dispose();
    }
}

/// <summary>
/// One task's events as the client sees them: in seq order, each once, through the terminal
/// event. Duplicates that a resume may bring are dropped here by seq.
/// </summary>
public sealed class TaskSubscription
{
    private readonly RealtimeAgentsClient _client;
    private readonly Channel<AgentEvent> _events = Channel.CreateUnbounded<AgentEvent>(new UnboundedChannelOptions { SingleReader = true });
    private readonly object _gate = new();
    private long _lastSeq = -1;

    internal TaskSubscription(RealtimeAgentsClient client, string taskId, string? cursor)
    {
        _client = client;
        TaskId = taskId;
        Cursor = cursor;
    }

    /// <summary>The task.</summary>
    public string TaskId { get; }
    /// <summary>The id of the last event received: where a resume continues.</summary>
    public string? Cursor { get; private set; }
    /// <summary>The latest Subscribe result (after a resume, the resume's).</summary>
    public SubscribeResult? Result { get; internal set; }
    /// <summary>How many times the subscription was resumed.</summary>
    public int Resumes { get; internal set; }
    /// <summary>Events received again (seq already seen) and dropped; a healthy server sends none.</summary>
    public int DuplicatesDropped { get; private set; }
    internal bool IsCompleted { get; private set; }

    internal void Accept(AgentEvent ev)
    {
        lock (_gate)
        {
            if (IsCompleted) return;
            if (ev.Seq <= _lastSeq)
            {
                DuplicatesDropped++;
                return;
            }
            _lastSeq = ev.Seq;
            Cursor = ev.Id;
            _events.Writer.TryWrite(ev);
            if (EventKinds.IsTerminal(ev.Kind)) CompleteLocked(null);
        }
    }

    internal void Complete(Exception? error)
    {
        lock (_gate) CompleteLocked(error);
    }

    private void CompleteLocked(Exception? error)
    {
        if (IsCompleted) return;
        IsCompleted = true;
        _events.Writer.TryComplete(error);
        _client.Remove(this);
    }

    /// <summary>The events, ending after the terminal one. Throws <see cref="SubscriptionLostException"/> if history could not be recovered.</summary>
    public async IAsyncEnumerable<AgentEvent> ReadEventsAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await foreach (var ev in _events.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false)) yield return ev;
    }
}

/// <summary>The server no longer holds the events after the subscription's cursor.</summary>
public sealed class SubscriptionLostException(string taskId, string? cursor)
    : Exception($"Events of task '{taskId}' after '{cursor}' are no longer retained; reload the task.")
{
    /// <summary>The task.</summary>
    public string TaskId { get; } = taskId;
}
