using System.Text.Json;
using RealtimeAgents.Contracts;

// In Core's namespace so that every test appending a literal payload finds it beside IEventLog.
namespace RealtimeAgents.Core;

/// <summary>Appends for tests, whose payloads are JSON elements (undefined or null for none).</summary>
public static class JsonElementAppends
{
    public static ValueTask<EventRecord> AppendAsync(this IEventLog log, string taskId, string threadId, string kind,
        JsonElement data, double ts, int attempt = 0, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(log);
        ReadOnlyMemory<byte> bytes = data.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null
            ? default
            : EventPayload.Encode(data, ContractsJsonContext.Default.JsonElement);
        return log.AppendAsync(taskId, threadId, kind, bytes, ts, attempt, cancellationToken);
    }
}
