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
}
