using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using System.Threading.Channels;
using RealtimeAgents.Contracts;
using RealtimeAgents.Core.Observability;

namespace RealtimeAgents.Core.Runtime;

/// <summary>
/// What a running agent sees of its task, and the only way it writes events. Text, reasoning and
/// tool calls are blocks: start one, write deltas to it, end it. The context remembers open
/// blocks so the runtime can close them before the terminal event whatever the agent did.
/// Appends are serialized: the agent and the control pump (injected messages) share one order.
/// </summary>
public sealed class AgentContext
{
    private readonly IEventLog _log;
    private readonly SemaphoreSlim _appendLock = new(1, 1);
    private readonly List<Block> _open = [];
    private readonly Channel<UserMessageData> _inbox = Channel.CreateUnbounded<UserMessageData>();
    private int _nextBlock;
    private IApprovalStore _approvals = new InMemory.InMemoryApprovalStore();
    private TimeSpan _approvalTimeout = new WorkerOptions().ApprovalTimeout;
    private TaskCompletionSource _approvalSignal = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly long _createdAt;
    private readonly string _agent;
    private readonly List<System.Diagnostics.Activity> _toolSpans = [];
    private double _timeToFirstToken = -1;

    internal AgentContext(IEventLog log, TaskRecord task, int attempt)
    {
        _log = log;
        TaskId = task.TaskId;
        ThreadId = task.ThreadId;
        Input = task.Input;
        Attempt = attempt;
        _createdAt = task.CreatedAt;
        _agent = task.Agent;
        Options = task.OptionsJson is null ? null : JsonDocument.Parse(task.OptionsJson).RootElement.Clone();
    }

    /// <summary>The task.</summary>
    public string TaskId { get; }
    /// <summary>Its thread.</summary>
    public string ThreadId { get; }
    /// <summary>The user's input.</summary>
    public string Input { get; }
    /// <summary>1 on the first run, higher when a worker died and the task was retried.</summary>
    public int Attempt { get; }
    /// <summary>The agent options from the request (a JSON object), or null.</summary>
    public JsonElement? Options { get; }

    /// <summary>
    /// Messages the user sent into this task while it runs (SendMessage with the inject policy).
    /// Each is already in the stream as user.message when it arrives here.
    /// </summary>
    public ChannelReader<UserMessageData> Messages => _inbox.Reader;

    /// <summary>Reports a phase (thinking, acting, …).</summary>
    public async ValueTask StatusAsync(string phase, string? label = null) =>
        await AppendAsync(EventKinds.Status, new StatusData(phase, label), ContractsJsonContext.Default.StatusData).ConfigureAwait(false);

    /// <summary>Opens a text message.</summary>
    public async ValueTask<TextBlock> StartTextAsync(string role = "assistant")
    {
        var block = new TextBlock(this, NewId("msg"), EventKinds.TextDelta, EventKinds.TextEnd);
        await AppendAsync(EventKinds.TextStart, new TextData(block.MessageId, Role: role), ContractsJsonContext.Default.TextData, open: block).ConfigureAwait(false);
        return block;
    }

    /// <summary>Opens a reasoning block.</summary>
    public async ValueTask<TextBlock> StartReasoningAsync()
    {
        var block = new TextBlock(this, NewId("rsn"), EventKinds.ReasoningDelta, EventKinds.ReasoningEnd);
        await AppendAsync(EventKinds.ReasoningStart, new TextData(block.MessageId), ContractsJsonContext.Default.TextData, open: block).ConfigureAwait(false);
        return block;
    }

    /// <summary>The run's span, parent of the tool call spans.</summary>
    internal System.Diagnostics.Activity? RunActivity { get; set; }

    /// <summary>Seconds from submit to this attempt's first text delta, or null when it wrote none.</summary>
    internal double? TimeToFirstToken => Volatile.Read(ref _timeToFirstToken) is var t && t >= 0 ? t : null;

    /// <summary>Opens a tool call.</summary>
    public async ValueTask<ToolCallBlock> StartToolCallAsync(string toolName, string? toolCallId = null)
    {
        var block = new ToolCallBlock(this, toolCallId ?? NewId("call"));
        // A span per tool call, from tool.start to its result, child of the run.
        block.Span = RealtimeAgentsTelemetry.WorkerSource.StartActivity("ToolCall " + toolName, System.Diagnostics.ActivityKind.Internal,
            RunActivity?.Context ?? default)?.SetTag("realtime_agents.tool", toolName).SetTag("realtime_agents.tool_call_id", block.ToolCallId);
        if (block.Span is not null) lock (_toolSpans) _toolSpans.Add(block.Span);
        await AppendAsync(EventKinds.ToolStart, new ToolCallData(block.ToolCallId, ToolName: toolName), ContractsJsonContext.Default.ToolCallData, open: block).ConfigureAwait(false);
        return block;
    }

    /// <summary>
    /// Asks a person to approve a tool call and waits for the answer: writes tool.approval
    /// (pending, with the tool, its input and the deadline) and status waiting, then returns the
    /// answer, which is also written as tool.approval (approved or denied). Nobody answering by
    /// the deadline (<paramref name="timeout"/>, or the worker's ApprovalTimeout) denies the call
    /// with reason "timeout". The request and the answer are stored: an attempt retried after
    /// its worker died asks again with the same <paramref name="toolCallId"/> and gets the answer
    /// given meanwhile (or waits for it until the original deadline), so the call is decided once.
    /// </summary>
    public async Task<ApprovalDecision> RequestApprovalAsync(string toolCallId, string toolName, JsonElement? input,
        TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(toolCallId);
        long deadline = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() + (long)(timeout ?? _approvalTimeout).TotalMilliseconds;
        var request = new ApprovalRequest(toolCallId, toolName, input?.GetRawText(), deadline);
        var (record, created) = await _approvals.RequestAsync(TaskId, request, CancellationToken.None).ConfigureAwait(false);
        deadline = record.Request?.DeadlineMs ?? deadline;
        if (record.Answer is null)
        {
            if (created)
            {
                await AppendAsync(EventKinds.ToolApproval, new ToolApprovalData(toolCallId, ApprovalStates.Pending, toolName, input, DeadlineMs: deadline),
                    ContractsJsonContext.Default.ToolApprovalData).ConfigureAwait(false);
            }
            await StatusAsync(StatusPhases.Waiting, $"Waiting for approval of {toolName}").ConfigureAwait(false);
        }
        while (record.Answer is null)
        {
            var signal = Volatile.Read(ref _approvalSignal).Task;
            long left = deadline - DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            if (left <= 0)
            {
                (record, _) = await _approvals.AnswerAsync(TaskId, toolCallId,
                    new ApprovalAnswer(false, ApprovalStates.TimeoutReason, ApprovalStates.TimeoutReason, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()),
                    CancellationToken.None).ConfigureAwait(false);
                break;
            }
            // Woken by the answer's control message; the periodic look is a safety net only.
            try
            {
                await signal.WaitAsync(TimeSpan.FromMilliseconds(Math.Min(left, 2000)), cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
            }
            record = await _approvals.GetAsync(TaskId, toolCallId, CancellationToken.None).ConfigureAwait(false) ?? record;
        }
        var answer = record.Answer!;
        // Said by every attempt that gets the answer, so a retry's stream shows why it goes on.
        await AppendAsync(EventKinds.ToolApproval, new ToolApprovalData(toolCallId,
            answer.Approved ? ApprovalStates.Approved : ApprovalStates.Denied, toolName, Reason: answer.Reason),
            ContractsJsonContext.Default.ToolApprovalData).ConfigureAwait(false);
        return new ApprovalDecision(answer.Approved, answer.Reason);
    }

    internal void UseApprovals(IApprovalStore store, TimeSpan timeout)
    {
        _approvals = store;
        _approvalTimeout = timeout;
    }

    /// <summary>An answer to one of this task's approvals was recorded: look again.</summary>
    internal void NotifyApprovalAnswered() =>
        Interlocked.Exchange(ref _approvalSignal, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();

    private string NewId(string prefix) => $"{prefix}_{TaskId[^Math.Min(8, TaskId.Length)..]}_{Attempt}_{Interlocked.Increment(ref _nextBlock)}";

    internal async ValueTask<EventRecord> AppendAsync<T>(string kind, T data, JsonTypeInfo<T> type, Block? open = null, Block? close = null)
    {
        // Encoded once, here: the log, the hub and JSON clients pass these bytes on as they are.
        byte[] payload = EventPayload.Encode(data, type);
        // Not cancellable: an event the agent started to write is written, and the runtime's
        // closing events must go out after an interrupt has cancelled the agent.
        await _appendLock.WaitAsync().ConfigureAwait(false);
        try
        {
            if (close is not null)
            {
                lock (_open)
                {
                    if (!_open.Remove(close)) throw new InvalidOperationException($"{kind}: the block is not open");
                }
            }
            var ev = await _log.AppendAsync(TaskId, ThreadId, kind, payload, Clock.UnixMs(), Attempt, CancellationToken.None).ConfigureAwait(false);
            if (kind == EventKinds.TextDelta && _timeToFirstToken < 0)
            {
                // Submit (the task's creation, a hub's clock) to this append (ours): clocks of
                // different hosts may differ by their NTP error.
                _timeToFirstToken = Math.Max(0, (ev.Ts - _createdAt) / 1000.0);
                RealtimeAgentsTelemetry.TimeToFirstToken.Record(_timeToFirstToken, RealtimeAgentsTelemetry.Agent(_agent));
            }
            if (open is not null)
            {
                lock (_open) _open.Add(open);
            }
            return ev;
        }
        finally
        {
            _appendLock.Release();
        }
    }

    internal void EnsureOpen(Block block, string kind)
    {
        lock (_open)
        {
            if (!_open.Contains(block)) throw new InvalidOperationException($"{kind}: the block is already ended");
        }
    }

    /// <summary>Ends the spans of tool calls that never reported a result.</summary>
    internal void StopToolSpans()
    {
        lock (_toolSpans)
        {
            foreach (var span in _toolSpans) span.Stop();
            _toolSpans.Clear();
        }
    }

    /// <summary>Ends every open block, newest first (the runtime calls this before a terminal event).</summary>
    internal async ValueTask CloseOpenBlocksAsync()
    {
        while (true)
        {
            Block? last;
            lock (_open) last = _open.Count > 0 ? _open[^1] : null;
            if (last is null) return;
            await last.EndCoreAsync().ConfigureAwait(false);
        }
    }

    /// <summary>
    /// After a retry: ends the blocks an earlier attempt opened and never closed (its worker
    /// died mid-block). Called after task.started has raised the fence, so the earlier attempt
    /// cannot open another one meanwhile.
    /// </summary>
    internal async ValueTask CloseAbandonedBlocksAsync(CancellationToken ct)
    {
        var open = new List<(string Family, string Id)>();
        var after = StreamId.Zero;
        while (true)
        {
            var page = await _log.ReadAsync(TaskId, after, 500, ct).ConfigureAwait(false);
            foreach (var e in page)
            {
                if (BlockOf(e) is not { } block) continue;
                if (e.Kind.EndsWith(".start", StringComparison.Ordinal)) open.Add(block);
                else if (e.Kind.EndsWith(".end", StringComparison.Ordinal)) open.Remove(block);
            }
            if (page.Count < 500) break;
            after = page[^1].Id;
        }
        for (int i = open.Count - 1; i >= 0; i--)
        {
            var (family, id) = open[i];
            if (family == "tool")
            {
                await AppendAsync(EventKinds.ToolEnd, new ToolCallData(id), ContractsJsonContext.Default.ToolCallData).ConfigureAwait(false);
            }
            else
            {
                await AppendAsync(family == "text" ? EventKinds.TextEnd : EventKinds.ReasoningEnd, new TextData(id),
                    ContractsJsonContext.Default.TextData).ConfigureAwait(false);
            }
        }
    }

    private static (string Family, string Id)? BlockOf(EventRecord e)
    {
        string family;
        if (e.Kind is EventKinds.TextStart or EventKinds.TextEnd) family = "text";
        else if (e.Kind is EventKinds.ReasoningStart or EventKinds.ReasoningEnd) family = "reasoning";
        else if (e.Kind is EventKinds.ToolStart or EventKinds.ToolEnd) family = "tool";
        else return null;
        string property = family == "tool" ? "toolCallId" : "messageId";
        var data = e.ToAgentEvent().Data;
        return data.ValueKind == JsonValueKind.Object && data.TryGetProperty(property, out var id) && id.GetString() is { } s
            ? (family, s) : null;
    }

    internal async ValueTask InjectAsync(ControlMessage message)
    {
        var data = new UserMessageData(message.Id, message.Text ?? "");
        await AppendAsync(EventKinds.UserMessage, data, ContractsJsonContext.Default.UserMessageData).ConfigureAwait(false);
        _inbox.Writer.TryWrite(data);
    }

    /// <summary>Base of the framed blocks.</summary>
    public abstract class Block
    {
        internal abstract ValueTask EndCoreAsync();
    }

    /// <summary>A text message or a reasoning block.</summary>
    public sealed class TextBlock : Block
    {
        private readonly AgentContext _context;
        private readonly string _deltaKind;
        private readonly string _endKind;

        internal TextBlock(AgentContext context, string messageId, string deltaKind, string endKind)
        {
            _context = context;
            MessageId = messageId;
            _deltaKind = deltaKind;
            _endKind = endKind;
        }

        /// <summary>The block's id.</summary>
        public string MessageId { get; }

        /// <summary>Appends a piece of text.</summary>
        public async ValueTask WriteAsync(string delta)
        {
            _context.EnsureOpen(this, _deltaKind);
            await _context.AppendAsync(_deltaKind, new TextData(MessageId, delta), ContractsJsonContext.Default.TextData).ConfigureAwait(false);
        }

        /// <summary>Closes the block.</summary>
        public ValueTask EndAsync() => EndCoreAsync();

        internal override async ValueTask EndCoreAsync() =>
            await _context.AppendAsync(_endKind, new TextData(MessageId), ContractsJsonContext.Default.TextData, close: this).ConfigureAwait(false);
    }

    /// <summary>A tool call: stream its arguments, end it with the parsed input, then report the result.</summary>
    public sealed class ToolCallBlock : Block
    {
        private readonly AgentContext _context;

        internal ToolCallBlock(AgentContext context, string toolCallId)
        {
            _context = context;
            ToolCallId = toolCallId;
        }

        /// <summary>The call's id.</summary>
        public string ToolCallId { get; }

        internal System.Diagnostics.Activity? Span { get; set; }

        /// <summary>Appends a piece of the JSON arguments.</summary>
        public async ValueTask ArgsAsync(string delta)
        {
            _context.EnsureOpen(this, EventKinds.ToolArgs);
            await _context.AppendAsync(EventKinds.ToolArgs, new ToolCallData(ToolCallId, Delta: delta), ContractsJsonContext.Default.ToolCallData).ConfigureAwait(false);
        }

        /// <summary>Closes the call with its parsed input.</summary>
        public async ValueTask EndAsync(JsonElement? input) =>
            await _context.AppendAsync(EventKinds.ToolEnd, new ToolCallData(ToolCallId, Input: input), ContractsJsonContext.Default.ToolCallData, close: this).ConfigureAwait(false);

        /// <summary>Reports the tool's output (after <see cref="EndAsync"/>).</summary>
        public async ValueTask ResultAsync(JsonElement output, bool isError = false)
        {
            await _context.AppendAsync(EventKinds.ToolResult, new ToolResultData(ToolCallId, output, isError), ContractsJsonContext.Default.ToolResultData).ConfigureAwait(false);
            if (Span is { } span)
            {
                if (isError) span.SetStatus(System.Diagnostics.ActivityStatusCode.Error);
                span.Stop();
            }
        }

        internal override ValueTask EndCoreAsync() => EndAsync(null);
    }
}

/// <summary>The answer to <see cref="AgentContext.RequestApprovalAsync"/>.</summary>
/// <param name="Approved">Run the tool.</param>
/// <param name="Reason">Why (for a denial the agent should tell its model), or null; "timeout" when nobody answered.</param>
public sealed record ApprovalDecision(bool Approved, string? Reason);
