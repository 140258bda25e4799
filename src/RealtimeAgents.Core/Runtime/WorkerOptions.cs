namespace RealtimeAgents.Core.Runtime;

/// <summary>Worker tuning.</summary>
public sealed class WorkerOptions
{
    /// <summary>Tasks run at once by this worker.</summary>
    public int Concurrency { get; set; } = 64;

    /// <summary>Attempts before a task that keeps losing its worker ends with task.failed.</summary>
    public int MaxAttempts { get; set; } = 3;

    /// <summary>This worker's name in the queue (unique per process).</summary>
    public string ConsumerName { get; set; } = $"{Environment.MachineName}-{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..8]}";

    /// <summary>How long a tool call waits for a person's approval before it is denied with reason "timeout".</summary>
    public TimeSpan ApprovalTimeout { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>On shutdown, how long running tasks may go on before they are handed back.</summary>
    public TimeSpan ShutdownGrace { get; set; } = TimeSpan.FromSeconds(5);
}
