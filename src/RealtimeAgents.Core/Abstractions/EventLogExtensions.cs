using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace RealtimeAgents.Core;

/// <summary>Appends with the payload given as a value: it is encoded to UTF-8 JSON once, here.</summary>
public static class EventLogExtensions
{
    /// <summary>Encodes <paramref name="data"/> and appends it (see <see cref="IEventLog.AppendAsync"/>).</summary>
    public static ValueTask<EventRecord> AppendAsync<T>(this IEventLog log, string taskId, string threadId, string kind,
        T data, JsonTypeInfo<T> type, double ts, int attempt = 0, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(log);
        return log.AppendAsync(taskId, threadId, kind, EventPayload.Encode(data, type), ts, attempt, cancellationToken);
    }

    /// <summary>Appends a payload that is already a JSON element (undefined for none).</summary>
    public static ValueTask<EventRecord> AppendAsync(this IEventLog log, string taskId, string threadId, string kind,
        JsonElement data, double ts, int attempt = 0, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(log);
        ReadOnlyMemory<byte> bytes = data.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null
            ? default
            : EventPayload.Encode(data, Contracts.ContractsJsonContext.Default.JsonElement);
        return log.AppendAsync(taskId, threadId, kind, bytes, ts, attempt, cancellationToken);
    }
}
