namespace RealtimeAgents.Core.Relay;

/// <summary>
/// The merge rule of the relay, kept pure so it can be property-tested: a subscriber has seen
/// everything up to <see cref="LastId"/> (whose seq is <see cref="LastSeq"/> when known). An
/// incoming event is a duplicate when its id is not past <see cref="LastId"/>, the next one when
/// its seq follows, and a gap otherwise (the caller then reads the log from <see cref="LastId"/>).
/// </summary>
internal sealed class SequenceTracker(StreamId lastId, long? lastSeq)
{
    public StreamId LastId { get; private set; } = lastId;
    public long? LastSeq { get; private set; } = lastSeq;

    public Verdict Classify(EventRecord ev)
    {
        if (ev.Id <= LastId) return Verdict.Duplicate;
        return LastSeq is long seq && ev.Seq == seq + 1 ? Verdict.Next : Verdict.Gap;
    }

    /// <summary>
    /// Accepts an event read from the log after <see cref="LastId"/>. The log is authoritative, so
    /// the only thing that can be wrong is a seq hole: events were trimmed before this reader got
    /// to them.
    /// </summary>
    public Verdict ClassifyFromLog(EventRecord ev)
    {
        if (ev.Id <= LastId) return Verdict.Duplicate;
        return LastSeq is long seq && ev.Seq != seq + 1 ? Verdict.Gap : Verdict.Next;
    }

    public void Advance(EventRecord ev)
    {
        LastId = ev.Id;
        LastSeq = ev.Seq;
    }

    public enum Verdict { Next, Duplicate, Gap }
}
