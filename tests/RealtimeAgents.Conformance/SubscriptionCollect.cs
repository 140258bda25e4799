using RealtimeAgents.Client;
using RealtimeAgents.Contracts;

namespace RealtimeAgents.Conformance;

/// <summary>Reads a .NET SDK subscription in tests, always under a deadline.</summary>
public static class SubscriptionCollect
{
    /// <summary>
    /// Every event through the terminal one, or up to and including the first for which
    /// <paramref name="until"/> is true; a hang fails with what was received so far.
    /// </summary>
    public static async Task<List<AgentEvent>> CollectAsync(this TaskSubscription sub, Func<AgentEvent, bool>? until = null, int timeoutMs = 30_000)
    {
        ArgumentNullException.ThrowIfNull(sub);
        var list = new List<AgentEvent>();
        using var cts = new CancellationTokenSource(timeoutMs);
        try
        {
            await foreach (var ev in sub.ReadEventsAsync(cts.Token))
            {
                list.Add(ev);
                if (until?.Invoke(ev) == true) break;
            }
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested)
        {
            throw new TimeoutException(
                $"task {sub.TaskId}: no terminal event within {timeoutMs} ms; got {list.Count} events, last seq {list.LastOrDefault()?.Seq} ({list.LastOrDefault()?.Kind})");
        }
        return list;
    }
}
