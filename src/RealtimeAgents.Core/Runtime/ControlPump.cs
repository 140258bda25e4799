using Microsoft.Extensions.Logging;

namespace RealtimeAgents.Core.Runtime;

/// <summary>
/// Relays a running task's control messages to its agent: an interrupt cancels the agent's token
/// (the first reason counts), a message becomes user.message while the agent runs, an approval
/// answer wakes the agent's wait. A message delivered twice is handled once. Disposing stops the
/// relay and waits for it, so nothing is injected after that.
/// </summary>
internal sealed class ControlPump : IAsyncDisposable
{
    private readonly IControlSubscription _subscription;
    private readonly AgentContext _context;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _interrupt = new();
    private readonly CancellationTokenSource _agentToken;
    private readonly Task _relay;
    private string? _interruptReason;

    private ControlPump(IControlSubscription subscription, AgentContext context, CancellationToken handBack, ILogger logger)
    {
        _subscription = subscription;
        _context = context;
        _logger = logger;
        _agentToken = CancellationTokenSource.CreateLinkedTokenSource(_interrupt.Token, handBack);
        _relay = RelayAsync();
    }

    /// <summary>Starts relaying the messages of the task's control subscription (it owns it from now on).</summary>
    public static ControlPump Start(IControlSubscription subscription, AgentContext context, CancellationToken handBack, ILogger logger) =>
        new(subscription, context, handBack, logger);

    /// <summary>Ends a subscription no pump will relay (the run failed before its agent started).</summary>
    public static async Task ReleaseAsync(Task<IControlSubscription> subscribing)
    {
        try
        {
            await (await subscribing.ConfigureAwait(false)).DisposeAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // The run is failing already (storage, most likely): a subscription that could not be
            // made or ended goes with the connection.
        }
    }

    /// <summary>The agent's token: cancelled by an interrupt or when the worker hands the task back.</summary>
    public CancellationToken AgentToken => _agentToken.Token;

    /// <summary>True once an interrupt came.</summary>
    public bool Interrupted => _interrupt.IsCancellationRequested;

    /// <summary>Why the task was interrupted.</summary>
    public string InterruptReason => Volatile.Read(ref _interruptReason) ?? "interrupted";

    private async Task RelayAsync()
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        try
        {
            await foreach (var message in _subscription.Messages.ReadAllAsync(CancellationToken.None).ConfigureAwait(false))
            {
                if (!seen.Add(message.Id)) continue;
                if (message.Type == ControlMessage.Interrupt)
                {
                    Interlocked.CompareExchange(ref _interruptReason, message.Reason ?? "interrupted", null);
                    _interrupt.Cancel();
                }
                else if (message.Type == ControlMessage.Message && !_agentToken.IsCancellationRequested)
                {
                    await _context.InjectAsync(message).ConfigureAwait(false);
                }
                else if (message.Type == ControlMessage.Approval)
                {
                    _context.NotifyApprovalAnswered();
                }
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            WorkerLog.ControlFailed(_logger, ex, _context.TaskId);
        }
    }

    /// <summary>Stops relaying and waits for the message in hand.</summary>
    public async ValueTask DisposeAsync()
    {
        await _subscription.DisposeAsync().ConfigureAwait(false);
        await _relay.ConfigureAwait(false);
        _agentToken.Dispose();
        _interrupt.Dispose();
    }
}
