using RealtimeAgents.Contracts;

namespace RealtimeAgents.Core;

/// <summary>Told about each new task so thread watchers can be notified.</summary>
public interface ITaskNotifier
{
    /// <summary>A task was created in a thread.</summary>
    ValueTask TaskCreatedAsync(ThreadTaskNotice notice, CancellationToken cancellationToken);
}
