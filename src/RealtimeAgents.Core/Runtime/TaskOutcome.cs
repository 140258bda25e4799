using RealtimeAgents.Contracts;

namespace RealtimeAgents.Core.Runtime;

/// <summary>How one attempt of a task came out: ended (with its one terminal event), or handed back.</summary>
internal abstract record TaskOutcome
{
    private TaskOutcome() { }

    /// <summary>The task ended; <see cref="Kind"/> is its terminal event.</summary>
    public abstract record Ended : TaskOutcome
    {
        private protected Ended() { }

        /// <summary>The terminal event kind.</summary>
        public abstract string Kind { get; }

        /// <summary>The task's status from now on.</summary>
        public string Status => TaskStates.FromTerminalKind(Kind);

        /// <summary>The terminal event's payload, encoded.</summary>
        public abstract byte[] EventData();
    }

    /// <summary>The agent returned its answer.</summary>
    public sealed record Completed(string Output, UsageData? Usage, double ExecutionMs) : Ended
    {
        /// <inheritdoc />
        public override string Kind => EventKinds.TaskCompleted;

        /// <inheritdoc />
        public override byte[] EventData() =>
            EventPayload.Encode(new TaskCompletedData(Output, Usage, ExecutionMs), ContractsJsonContext.Default.TaskCompletedData);
    }

    /// <summary>The agent threw, or the task ran out of attempts.</summary>
    public sealed record Failed(string Message, string Code) : Ended
    {
        /// <inheritdoc />
        public override string Kind => EventKinds.TaskFailed;

        /// <inheritdoc />
        public override byte[] EventData() =>
            EventPayload.Encode(new TaskFailedData(Message, Code), ContractsJsonContext.Default.TaskFailedData);
    }

    /// <summary>Someone interrupted the task.</summary>
    public sealed record Cancelled(string Reason) : Ended
    {
        /// <inheritdoc />
        public override string Kind => EventKinds.TaskCancelled;

        /// <inheritdoc />
        public override byte[] EventData() =>
            EventPayload.Encode(new TaskCancelledData(Reason), ContractsJsonContext.Default.TaskCancelledData);
    }

    /// <summary>The worker is stopping: the task goes back to the queue unfinished, for another worker.</summary>
    public sealed record HandedBack : TaskOutcome
    {
        /// <summary>The one instance.</summary>
        public static HandedBack Instance { get; } = new();
    }
}
