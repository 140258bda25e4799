namespace RealtimeAgents.Core;

/// <summary>
/// Carries interrupts and injected messages from whoever holds the client to whichever worker
/// runs the task. Messages sent before the worker subscribes are kept (per task, bounded) and
/// delivered first, so an interrupt right after submit is not lost.
/// </summary>
public interface IControlChannel
{
    /// <summary>Sends a message to the task's worker (now or when it subscribes).</summary>
    ValueTask SendAsync(string taskId, ControlMessage message, CancellationToken cancellationToken = default);

    /// <summary>
    /// Receives the task's control messages: those kept from before, then live ones, in send
    /// order. A message may arrive twice across a reconnect; <see cref="ControlMessage.Id"/> tells.
    /// </summary>
    ValueTask<IControlSubscription> SubscribeAsync(string taskId, CancellationToken cancellationToken = default);

    /// <summary>The task ended: drop what is kept for it.</summary>
    ValueTask ForgetAsync(string taskId, CancellationToken cancellationToken = default);
}

/// <summary>A worker's view of a task's control messages.</summary>
public interface IControlSubscription : IAsyncDisposable
{
    /// <summary>The messages, in order.</summary>
    System.Threading.Channels.ChannelReader<ControlMessage> Messages { get; }
}

/// <summary>An interrupt, an injected user message, or word of an approval's answer.</summary>
/// <param name="Id">Unique per message; deduplicates redelivery.</param>
/// <param name="Type"><see cref="Interrupt"/> or <see cref="Message"/>.</param>
/// <param name="Reason">Why, for an interrupt.</param>
/// <param name="Text">The user's text, for a message.</param>
public sealed record ControlMessage(string Id, string Type, string? Reason = null, string? Text = null)
{
    /// <summary>Cancel the task.</summary>
    public const string Interrupt = "interrupt";
    /// <summary>Deliver text into the running agent.</summary>
    public const string Message = "message";
    /// <summary>An approval of the task was answered (<see cref="Text"/> is the tool call id); the answer itself is in the <see cref="IApprovalStore"/>.</summary>
    public const string Approval = "approval";
}
