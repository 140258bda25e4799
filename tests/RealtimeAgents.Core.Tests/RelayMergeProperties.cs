using FsCheck;
using FsCheck.Fluent;
using RealtimeAgents.Contracts;
using RealtimeAgents.Core.Relay;
using Xunit;

namespace RealtimeAgents.Core.Tests;

/// <summary>
/// Whatever the interleaving of history and live delivery — how much was written before the
/// subscription, where the cursor is, how small the pages and the buffer, which live events are
/// lost or repeated — a subscriber receives exactly the events after its cursor, once, in order.
/// </summary>
public sealed class RelayMergeProperties
{
    private sealed record Scenario(int Total, int Cursor, int Preloaded, int Page, int Buffer, int Seed)
    {
        public override string ToString() =>
            $"total={Total} cursor={Cursor} preloaded={Preloaded} page={Page} buffer={Buffer} seed={Seed}";
    }

    private static readonly Gen<Scenario> Scenarios =
        from total in Gen.Choose(1, 150)
        from cursor in Gen.Choose(0, total - 1)
        from preloaded in Gen.Choose(cursor, total)
        from page in Gen.Choose(1, 9)
        from buffer in Gen.Choose(1, 9)
        from seed in Gen.Choose(0, int.MaxValue - 1)
        select new Scenario(total, cursor, preloaded, page, buffer, seed);

    [Fact]
    public void AnyInterleaving_OfHistoryAndLiveDelivery_YieldsTheExactContiguousRemainder()
    {
        var property = Prop.ForAll(Arb.From(Scenarios), s => Run(s).GetAwaiter().GetResult());
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(150), property);
    }

    [Fact]
    public void Tracker_ClassifiesByIdThenSeq()
    {
        // seq starts at 4 so that seq + offset stays a valid seq (and id sequence number) for every offset.
        var property = Prop.ForAll(Arb.From(Gen.Choose(4, 1000)), Arb.From(Gen.Choose(-3, 3)), (seq, offset) =>
        {
            var tracker = new SequenceTracker(new StreamId(1000, seq), seq);
            long candidate = seq + offset;
            var ev = new EventRecord("t", "th", candidate, new StreamId(1000, candidate), EventKinds.Status, 0, default);
            var verdict = tracker.Classify(ev);
            return offset <= 0 ? verdict == SequenceTracker.Verdict.Duplicate
                : offset == 1 ? verdict == SequenceTracker.Verdict.Next
                : verdict == SequenceTracker.Verdict.Gap;
        });
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(300), property);
    }

    private static async Task<bool> Run(Scenario s)
    {
        var random = new Random(s.Seed);
        var inner = RelayKit.NewLog();
        // 15% of live events lost, 15% delivered twice: the log must make up for both.
        var log = new UnreliableFeedLog(inner, _ => random.Next(100) switch { < 15 => 0, < 30 => 2, _ => 1 });
        string task = RelayKit.NewTaskId();
        var appended = new List<AgentEvent>();
        async Task AppendAsync(int i) => appended.Add(await RelayKit.AppendAsync(log, task, i,
            i == s.Total ? EventKinds.TaskCompleted : EventKinds.TextDelta));

        for (int i = 1; i <= s.Preloaded; i++) await AppendAsync(i);
        var cursor = s.Cursor == 0 ? Cursor.Start : Cursor.AfterId(StreamId.Parse(appended[s.Cursor - 1].Id));
        var sink = new CollectingSink();
        var relay = RelayKit.NewRelay(log, s.Buffer, s.Page);
        await using var sub = await relay.SubscribeAsync(task, cursor, sink);
        for (int i = s.Preloaded + 1; i <= s.Total; i++) await AppendAsync(i);
        await sub.Completion.WaitAsync(TimeSpan.FromSeconds(10));

        var expected = appended.Skip(s.Cursor).Select(e => e.Seq).ToList();
        var got = sink.Snapshot().Select(e => e.Seq).ToList();
        if (!sub.Recovered || !expected.SequenceEqual(got))
        {
            throw new InvalidOperationException(
                $"{s}: expected seq {Describe(expected)}, delivered {Describe(got)} (recovered={sub.Recovered})");
        }
        return true;
    }

    private static string Describe(List<long> seqs) => seqs.Count <= 12 ? string.Join(",", seqs) : $"{seqs.Count} events [{seqs[0]}..{seqs[^1]}]";
}
