using System.Collections.Concurrent;

namespace RealtimeAgents.Core.InMemory;

/// <summary>Thread state in process memory (embedded mode).</summary>
public sealed class InMemoryThreadStateStore : IThreadStateStore
{
    private readonly ConcurrentDictionary<(string, string), AgentThreadState> _states = new();

    /// <inheritdoc />
    public ValueTask<AgentThreadState?> GetAsync(string threadId, string key, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(_states.TryGetValue((threadId, key), out var s) ? s : null);

    /// <inheritdoc />
    public ValueTask SetAsync(string threadId, string key, AgentThreadState state, CancellationToken cancellationToken = default)
    {
        _states[(threadId, key)] = state;
        return ValueTask.CompletedTask;
    }
}

/// <summary>Approvals in process memory (embedded mode); one lock makes "first answer wins" atomic.</summary>
public sealed class InMemoryApprovalStore : IApprovalStore
{
    private readonly Dictionary<string, Dictionary<string, ApprovalRecord>> _byTask = new(StringComparer.Ordinal);

    /// <inheritdoc />
    public ValueTask<(ApprovalRecord Record, bool Created)> RequestAsync(string taskId, ApprovalRequest request,
        CancellationToken cancellationToken = default)
    {
        lock (_byTask)
        {
            var calls = CallsOf(taskId);
            calls.TryGetValue(request.ToolCallId, out var existing);
            if (existing?.Request is not null) return ValueTask.FromResult((existing, false));
            var record = new ApprovalRecord(request.ToolCallId, request, existing?.Answer);
            calls[request.ToolCallId] = record;
            return ValueTask.FromResult((record, true));
        }
    }

    /// <inheritdoc />
    public ValueTask<ApprovalRecord?> GetAsync(string taskId, string toolCallId, CancellationToken cancellationToken = default)
    {
        lock (_byTask)
        {
            return ValueTask.FromResult(_byTask.TryGetValue(taskId, out var calls) && calls.TryGetValue(toolCallId, out var r) ? r : null);
        }
    }

    /// <inheritdoc />
    public ValueTask<(ApprovalRecord Record, bool Recorded)> AnswerAsync(string taskId, string toolCallId, ApprovalAnswer answer,
        CancellationToken cancellationToken = default)
    {
        lock (_byTask)
        {
            var calls = CallsOf(taskId);
            calls.TryGetValue(toolCallId, out var existing);
            if (existing?.Answer is not null) return ValueTask.FromResult((existing, false));
            var record = new ApprovalRecord(toolCallId, existing?.Request, answer);
            calls[toolCallId] = record;
            return ValueTask.FromResult((record, true));
        }
    }

    /// <inheritdoc />
    public ValueTask ForgetAsync(string taskId, CancellationToken cancellationToken = default)
    {
        lock (_byTask) _byTask.Remove(taskId);
        return ValueTask.CompletedTask;
    }

    private Dictionary<string, ApprovalRecord> CallsOf(string taskId)
    {
        if (!_byTask.TryGetValue(taskId, out var calls)) _byTask[taskId] = calls = new(StringComparer.Ordinal);
        return calls;
    }
}
