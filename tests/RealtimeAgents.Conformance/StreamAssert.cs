using RealtimeAgents.Contracts;
using Xunit;

namespace RealtimeAgents.Conformance;

/// <summary>
/// Checks a subscriber's view of one task against the guarantees: seq strictly increasing by one
/// from where it started, ids strictly increasing, every block opened before its deltas and closed
/// before the terminal event, exactly one terminal event and it is last.
/// </summary>
public static class StreamAssert
{
    /// <summary>The log's records, checked as the events a client receives.</summary>
    public static void Contiguous(IReadOnlyList<Core.EventRecord> records, long firstSeq = 1) => Contiguous(AsEvents(records), firstSeq);

    /// <inheritdoc cref="CompleteTask(IReadOnlyList{AgentEvent}, long)"/>
    public static void CompleteTask(IReadOnlyList<Core.EventRecord> records, long firstSeq = 1) => CompleteTask(AsEvents(records), firstSeq);

    private static AgentEvent[] AsEvents(IReadOnlyList<Core.EventRecord> records) => [.. records.Select(r => r.ToAgentEvent())];

    public static void Contiguous(IReadOnlyList<AgentEvent> events, long firstSeq = 1)
    {
        Assert.NotEmpty(events);
        for (int i = 0; i < events.Count; i++)
        {
            Assert.True(events[i].Seq == firstSeq + i,
                $"event #{i} has seq {events[i].Seq}, expected {firstSeq + i} (kinds: {Describe(events, i)})");
            if (i > 0)
            {
                Assert.True(Core.StreamId.Parse(events[i - 1].Id) < Core.StreamId.Parse(events[i].Id),
                    $"ids not increasing at seq {events[i].Seq}: {events[i - 1].Id} then {events[i].Id}");
            }
        }
    }

    /// <summary>The whole life of a task: contiguous from <paramref name="firstSeq"/>, framed, one terminal event last.</summary>
    public static void CompleteTask(IReadOnlyList<AgentEvent> events, long firstSeq = 1)
    {
        Contiguous(events, firstSeq);
        Assert.Single(events, e => EventKinds.IsTerminal(e.Kind));
        Assert.True(EventKinds.IsTerminal(events[^1].Kind), $"last event is {events[^1].Kind}, not a terminal kind");
        Framed(events);
    }

    /// <summary>Blocks: start before delta/end, ids match, nothing open at the terminal event.</summary>
    public static void Framed(IReadOnlyList<AgentEvent> events)
    {
        var open = new Dictionary<string, string>(StringComparer.Ordinal); // block id -> family
        foreach (var e in events)
        {
            string? family = e.Kind.Split('.')[0] switch { "text" => "text", "reasoning" => "reasoning", "tool" => "tool", _ => null };
            if (e.Kind is EventKinds.ToolResult or EventKinds.ToolApproval) family = null;
            if (family is null)
            {
                if (EventKinds.IsTerminal(e.Kind)) Assert.True(open.Count == 0, $"{e.Kind} at seq {e.Seq} with blocks still open: {string.Join(", ", open.Keys)}");
                continue;
            }
            string id = family == "tool"
                ? e.Data.GetProperty("toolCallId").GetString()!
                : e.Data.GetProperty("messageId").GetString()!;
            if (e.Kind.EndsWith(".start", StringComparison.Ordinal))
            {
                Assert.True(open.TryAdd(id, family), $"{e.Kind} at seq {e.Seq} reopens {id}");
            }
            else if (e.Kind.EndsWith(".end", StringComparison.Ordinal))
            {
                Assert.True(open.Remove(id), $"{e.Kind} at seq {e.Seq} ends {id}, which is not open");
            }
            else
            {
                Assert.True(open.ContainsKey(id), $"{e.Kind} at seq {e.Seq} writes to {id}, which is not open");
            }
        }
    }

    /// <summary>Concatenated text.delta of the events.</summary>
    public static string Text(IEnumerable<AgentEvent> events) =>
        string.Concat(events.Where(e => e.Kind == EventKinds.TextDelta).Select(e => e.Data.GetProperty("delta").GetString()));

    private static string Describe(IReadOnlyList<AgentEvent> events, int at) =>
        string.Join(" ", events.Skip(Math.Max(0, at - 2)).Take(5).Select(e => $"{e.Seq}:{e.Kind}"));
}
