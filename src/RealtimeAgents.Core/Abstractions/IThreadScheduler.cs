namespace RealtimeAgents.Core;

/// <summary>What the worker tells the thread side when one of a thread's tasks has ended.</summary>
public interface IThreadScheduler
{
    /// <summary>
    /// A task of <paramref name="threadId"/> ended: start the oldest task waiting in the thread
    /// (the enqueue policy), unless another of the thread's tasks is still active.
    /// </summary>
    Task TaskEndedAsync(string threadId, CancellationToken cancellationToken = default);
}
