using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Text.Json.Serialization;
using System.Threading.Channels;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.Http.Connections.Client;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RealtimeAgents.Contracts;

namespace RealtimeAgents.Client;

/// <summary>Connection settings of <see cref="RealtimeAgentsClient"/>.</summary>
public sealed class RealtimeAgentsClientOptions
{
    /// <summary>Supplies a bearer token for each (re)connect (SignalR's <c>AccessTokenProvider</c>).</summary>
    public Func<Task<string?>>? AccessTokenProvider { get; set; }
    /// <summary>Extra request headers for negotiate and every transport that can carry them.</summary>
    public IDictionary<string, string> Headers { get; } = new Dictionary<string, string>();
    /// <summary>
    /// The transports negotiate may pick, best first: WebSockets, then Server-Sent Events, then long
    /// polling (default: all three).
    /// </summary>
    public HttpTransportType Transports { get; set; } = HttpTransportType.WebSockets | HttpTransportType.ServerSentEvents | HttpTransportType.LongPolling;
    /// <summary>
    /// Connect a WebSocket straight to the hub, without /negotiate: the connection then lives on the
    /// node the socket reached, so a balancer needs no sticky sessions. WebSockets only.
    /// </summary>
    public bool SkipNegotiation { get; set; }
    /// <summary>Speak the MessagePack hub protocol instead of JSON (smaller frames; the same events).</summary>
    public bool UseMessagePack { get; set; }
    /// <summary>Anything else of SignalR's <see cref="HttpConnectionOptions"/> (proxies, certificates, timeouts), applied last.</summary>
    public Action<HttpConnectionOptions>? ConfigureHttpConnection { get; set; }
    /// <summary>Reconnect automatically after a lost connection, then resume every subscription (default true).</summary>
    public bool AutomaticReconnect { get; set; } = true;
    /// <summary>Logging for the underlying HubConnection.</summary>
    public ILoggerFactory? LoggerFactory { get; set; }
    /// <summary>
    /// Pauses before each retry of a call the hub answered "unavailable" (a store it depends on
    /// cannot be reached); empty turns retrying off. SendMessage is never retried (it is not
    /// idempotent); a submit without an idempotency key gets one, so its retry cannot create a
    /// second task. Default: 0.25, 0.5, 1, 2 and 4 s.
    /// </summary>
    public IList<TimeSpan> UnavailableRetryDelays { get; } =
        [TimeSpan.FromMilliseconds(250), TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(4)];
}

/// <summary>
/// A connection to a RealtimeAgents hub. Subscriptions keep their last cursor and resume from it
/// after a reconnect or when the server ends them early, so a reader never sees a gap or a repeat.
/// </summary>
public sealed class RealtimeAgentsClient : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, TaskSubscription> _subscriptions = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Channel<ThreadTaskNotice>> _threads = new(StringComparer.Ordinal);

    private RealtimeAgentsClient(HubConnection connection, ClientConnectionFactory factory, bool messagePack)
    {
        _messagePack = messagePack;
        Connection = connection;
        ConnectionFactory = factory;
        connection.On<AgentEvent>(HubMethods.Event, OnEvent);
        connection.On<SubscriptionEnded>(HubMethods.SubscriptionEnded, OnSubscriptionEnded);
        connection.On<ThreadTaskNotice>(HubMethods.ThreadTask, n =>
        {
            if (_threads.TryGetValue(n.ThreadId, out var ch)) ch.Writer.TryWrite(n);
        });
        // The server stopped the watch (the thread is no longer shared with us, or the token expired).
        connection.On<ThreadWatchEnded>(HubMethods.ThreadEnded, e =>
        {
            if (_threads.TryRemove(e.ThreadId, out var ch))
            {
                ch.Writer.TryComplete(new InvalidOperationException($"The server stopped watching thread '{e.ThreadId}': {e.Reason}."));
            }
        });
        connection.Reconnected += _ => ResumeAllAsync();
        connection.Closed += OnClosedAsync;
    }

    private static readonly TimeSpan[] RestartDelays =
        [TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(5)];

    private readonly CancellationTokenSource _disposing = new();
    private bool _restartOnClose = true;
    private TimeSpan[] _unavailableDelays = [];

    // A store the hub needs is down ("unavailable"): nothing was done, so the call can be made again.
    private async Task<T> RetryUnavailableAsync<T>(Func<Task<T>> call, CancellationToken cancellationToken)
    {
        for (int attempt = 0; ; attempt++)
        {
            try
            {
                return await call().ConfigureAwait(false);
            }
            catch (HubException ex) when (attempt < _unavailableDelays.Length && IsUnavailable(ex))
            {
                await Task.Delay(_unavailableDelays[attempt], cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private Task RetryUnavailableAsync(Func<Task> call, CancellationToken cancellationToken) =>
        RetryUnavailableAsync(async () => { await call().ConfigureAwait(false); return true; }, cancellationToken);

    /// <summary>Whether the hub refused a call as "unavailable" (a store it needs cannot be reached; try again later).</summary>
    public static bool IsUnavailable(HubException exception) =>
        exception?.Message.Contains("HubException: unavailable: ", StringComparison.Ordinal) == true;

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

    /// <summary>The connection factory (its <see cref="ClientConnectionFactory.AbortConnections"/> simulates a network drop).</summary>
    public ClientConnectionFactory ConnectionFactory { get; }

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
        if (hubUrls.Count == 0) throw new ArgumentException("At least one hub URL is needed.", nameof(hubUrls));
        options ??= new RealtimeAgentsClientOptions();
        var headers = new Dictionary<string, string>(options.Headers);
        void Configure(HttpConnectionOptions o)
        {
            o.Transports = options.Transports;
            o.SkipNegotiation = options.SkipNegotiation;
            o.AccessTokenProvider = options.AccessTokenProvider;
            foreach (var (name, value) in headers) o.Headers[name] = value;
            options.ConfigureHttpConnection?.Invoke(o);
        }
        var builder = new HubConnectionBuilder().WithUrl(hubUrls[0], Configure);
        // SignalR's own HTTP connection factory, one per hub URL, behind ours so a reconnect can
        // reach another node.
        var factory = new ClientConnectionFactory(hubUrls);
        builder.Services.AddSingleton<IConnectionFactory>(sp =>
        {
            var loggerFactory = sp.GetRequiredService<ILoggerFactory>();
            // Text or binary, as SignalR derived it from the hub protocol.
            var transferFormat = sp.GetRequiredService<IOptions<HttpConnectionOptions>>().Value.DefaultTransferFormat;
            factory.Attach(url =>
            {
                var o = new HttpConnectionOptions { Url = url, DefaultTransferFormat = transferFormat };
                Configure(o);
                return new HttpConnectionFactory(Options.Create(o), loggerFactory);
            });
            return factory;
        });
        if (options.LoggerFactory is not null) builder.Services.AddSingleton(options.LoggerFactory);
        if (options.UseMessagePack)
        {
            builder.AddMessagePackProtocol(o => o.SerializerOptions = ContractsMessagePack.Options);
        }
        else
        {
            builder.AddJsonProtocol(o =>
            {
                o.PayloadSerializerOptions.DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull;
                o.PayloadSerializerOptions.TypeInfoResolverChain.Insert(0, ContractsJsonContext.Default);
            });
        }
        if (options.AutomaticReconnect)
        {
            builder.WithAutomaticReconnect([TimeSpan.Zero, TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(1),
                TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(10)]);
        }
        var connection = builder.Build();
        var client = new RealtimeAgentsClient(connection, factory, options.UseMessagePack)
        {
            _restartOnClose = options.AutomaticReconnect,
            _unavailableDelays = [.. options.UnavailableRetryDelays],
        };
        await connection.StartAsync(cancellationToken).ConfigureAwait(false);
        return client;
    }

    /// <summary>
    /// Submits a task. An input over the server's limit is refused here, before sending, with the
    /// server's own error (a <see cref="HubException"/> "limit_exceeded: …"): sent, a message that
    /// large would make the server close the connection and every subscription on it.
    /// </summary>
    public async Task<SubmitTaskResult> SubmitAsync(SubmitTaskRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        await CheckSizeAsync("Input", request.Input, request.Options, () => MessageSize(request), cancellationToken).ConfigureAwait(false);
        // A retry after "unavailable" must not create a second task.
        if (request.IdempotencyKey is null && _unavailableDelays.Length > 0) request = request with { IdempotencyKey = Guid.NewGuid().ToString("N") };
        return await RetryUnavailableAsync(() => Connection.InvokeAsync<SubmitTaskResult>(HubMethods.SubmitTask, request, cancellationToken), cancellationToken)
            .ConfigureAwait(false);
    }

    // Below this many bytes of text no server limit can be reached (the hub takes messages of twice
    // its input limit plus 16 KiB, and even escaped six-fold this stays under 16 KiB): no need to ask.
    private const int SmallTextBytes = 2 * 1024;
    private readonly bool _messagePack;
    private HubLimits? _limits;

    /// <summary>What the server accepts (asked once, the first time a large input is sent).</summary>
    public async Task<HubLimits> GetLimitsAsync(CancellationToken cancellationToken = default) =>
        _limits ??= await Connection.InvokeAsync<HubLimits>(HubMethods.GetLimits, cancellationToken).ConfigureAwait(false);

    private async Task CheckSizeAsync(string what, string? text, JsonElement? agentOptions, Func<long> messageSize, CancellationToken cancellationToken)
    {
        int textBytes = text is null ? 0 : Encoding.UTF8.GetByteCount(text);
        int optionsBytes = agentOptions is { ValueKind: JsonValueKind.Object } o ? Encoding.UTF8.GetByteCount(o.GetRawText()) : 0;
        if (textBytes <= SmallTextBytes && optionsBytes <= SmallTextBytes) return;
        var limits = await GetLimitsAsync(cancellationToken).ConfigureAwait(false);
        if (textBytes > limits.MaxInputBytes)
        {
            throw new HubException($"limit_exceeded: {what} is {textBytes} bytes; the limit is {limits.MaxInputBytes} bytes.");
        }
        if (optionsBytes > limits.MaxOptionsBytes)
        {
            throw new HubException($"limit_exceeded: Options are larger than {limits.MaxOptionsBytes} bytes.");
        }
        long size = messageSize();
        if (size > limits.MaxMessageBytes)
        {
            throw new HubException($"limit_exceeded: The message is {size} bytes; the server takes at most {limits.MaxMessageBytes} bytes in one message.");
        }
    }

    // The argument's size in this connection's protocol; the invocation's envelope adds a few dozen bytes.
    private long MessageSize<T>(T argument) => _messagePack
        ? MessagePack.MessagePackSerializer.Serialize(argument, ContractsMessagePack.Options).Length + 64
        : JsonSerializer.SerializeToUtf8Bytes(argument, (JsonTypeInfo<T>)ContractsJsonContext.Default.GetTypeInfo(typeof(T))!).Length + 64;

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
            subscription.Result = await RetryUnavailableAsync(
                () => Connection.InvokeAsync<SubscribeResult>(HubMethods.Subscribe, taskId, cursor, cancellationToken), cancellationToken)
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
        RetryUnavailableAsync(() => Connection.InvokeAsync(HubMethods.Interrupt, taskId, reason, cancellationToken), cancellationToken);

    /// <summary>Sends a message into a thread with a policy (interrupt, enqueue, reject, inject).</summary>
    public async Task<SendMessageResult> SendMessageAsync(string threadId, string text, string policy = MessagePolicies.Interrupt,
        CancellationToken cancellationToken = default)
    {
        await CheckSizeAsync("Message", text, null, () => MessageSize(text) + MessageSize(threadId) + MessageSize(policy), cancellationToken)
            .ConfigureAwait(false);
        return await Connection.InvokeAsync<SendMessageResult>(HubMethods.SendMessage, threadId, text, policy, cancellationToken).ConfigureAwait(false);
    }

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
        RetryUnavailableAsync(() => Connection.InvokeAsync<TaskInfo>(HubMethods.GetTask, taskId, cancellationToken), cancellationToken);

    /// <summary>The thread's tasks so far, and a reader of each new one.</summary>
    public async Task<(ThreadInfo Thread, ChannelReader<ThreadTaskNotice> NewTasks)> WatchThreadAsync(string threadId,
        CancellationToken cancellationToken = default)
    {
        var channel = _threads.GetOrAdd(threadId, _ => Channel.CreateUnbounded<ThreadTaskNotice>());
        var info = await RetryUnavailableAsync(() => Connection.InvokeAsync<ThreadInfo>(HubMethods.SubscribeThread, threadId, cancellationToken),
            cancellationToken).ConfigureAwait(false);
        return (info, channel.Reader);
    }

    /// <summary>Stops watching the thread: its reader from <see cref="WatchThreadAsync"/> completes.</summary>
    public async Task UnwatchThreadAsync(string threadId, CancellationToken cancellationToken = default)
    {
        await Connection.InvokeAsync(HubMethods.UnsubscribeThread, threadId, cancellationToken).ConfigureAwait(false);
        if (_threads.TryRemove(threadId, out var ch)) ch.Writer.TryComplete();
    }

    private void OnEvent(AgentEvent ev)
    {
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
        // Events that come while the resume is pending are held: whether they follow on from the
        // cursor is only known from the result. Recovered, they are delivered (deduplicated by seq);
        // not recovered, they would show a jump in seq, so only the loss is reported.
        sub.HoldEvents();
        try
        {
            var result = await RetryUnavailableAsync(() => Connection.InvokeAsync<SubscribeResult>(HubMethods.Subscribe, sub.TaskId, sub.Cursor),
                _disposing.Token).ConfigureAwait(false);
            sub.Result = result;
            if (!result.Recovered) sub.Complete(new SubscriptionLostException(sub.TaskId, sub.Cursor));
            else sub.ReleaseEvents();
            sub.Resumes++;
        }
        catch (Exception) when (Connection.State != HubConnectionState.Connected && !_disposing.IsCancellationRequested)
        {
            // The connection went away under the call (a node shutting down closes connections,
            // even ones that just reconnected to it): the reconnect or restart resumes it again.
            // This resume no longer holds events back, or the next one would wait for it forever.
            sub.AbandonResume();
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

    private readonly List<AgentEvent> _held = [];
    private int _pendingResumes;

    /// <summary>A resume is under way: hold what arrives until its result says whether it follows on.</summary>
    internal void HoldEvents()
    {
        lock (_gate) _pendingResumes++;
    }

    /// <summary>
    /// A resume failed with its connection and another one follows: it stops holding events. What
    /// it held is dropped, not delivered: the next resume replays it from the cursor (by seq, once).
    /// </summary>
    internal void AbandonResume()
    {
        lock (_gate)
        {
            if (--_pendingResumes > 0) return;
            _held.Clear();
        }
    }

    /// <summary>The resume recovered: deliver what was held, in order, then go on as usual.</summary>
    internal void ReleaseEvents()
    {
        lock (_gate)
        {
            if (--_pendingResumes > 0) return;
            foreach (var ev in _held) AcceptLocked(ev);
            _held.Clear();
        }
    }

    internal void Accept(AgentEvent ev)
    {
        lock (_gate)
        {
            if (_pendingResumes > 0)
            {
                if (!IsCompleted) _held.Add(ev);
                return;
            }
            AcceptLocked(ev);
        }
    }

    private void AcceptLocked(AgentEvent ev)
    {
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
        _held.Clear();
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
