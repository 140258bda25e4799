using RealtimeAgents.Contracts;
using RealtimeAgents.LoadTests.Metrics;

namespace RealtimeAgents.LoadTests;

/// <summary>
/// Measures one subscription to one task from the events the wire delivers: time to first
/// token, inter-token gaps, delivery latency of each live event, end to end, the catch-up after
/// a dropped connection, and completeness (gaps, duplicates, reorderings). A null recorder
/// (warm-up) measures nothing but still tracks completion; <paramref name="timings"/> false
/// (a replay of history) counts completeness only.
/// </summary>
internal sealed class TaskProbe(string taskId, long startTicks, double liveAfterWallMs, Recorder? recorder, bool timings = true)
{
    private readonly Recorder? _timed = timings ? recorder : null;
    private readonly object _gate = new();
    private readonly TaskCompletionSource<long> _firstDelta = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<(AgentEvent Event, long Ticks)> _terminal = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private bool[] _seen = new bool[256];
    private long _distinct;
    private long _maxSeq;
    private long _lastDeltaTicks;
    private double? _startedTs;
    private long _droppedTicks;
    private bool _catchingUp;
    private double _reconnectedWallMs = double.MaxValue;

    public string TaskId { get; } = taskId;

    /// <summary>When the first text.delta arrived (Stopwatch ticks).</summary>
    public Task<long> FirstDelta => _firstDelta.Task;

    /// <summary>The terminal event and when it arrived.</summary>
    public Task<(AgentEvent Event, long Ticks)> Terminal => _terminal.Task;

    public void OnDropped(long ticks)
    {
        lock (_gate)
        {
            if (_terminal.Task.IsCompleted) return;
            _droppedTicks = ticks;
            _catchingUp = true;
            _reconnectedWallMs = double.MaxValue;
        }
    }

    public void OnReconnected(double wallMs)
    {
        lock (_gate) if (_catchingUp) _reconnectedWallMs = wallMs;
    }

    public void OnEvent(AgentEvent ev, long ticks, double wallMs)
    {
        lock (_gate)
        {
            recorder?.Count(MetricNames.Events);
            Track(ev.Seq);
            bool terminal = EventKinds.IsTerminal(ev.Kind);
            if (_catchingUp && (ev.Ts >= _reconnectedWallMs || terminal))
            {
                // Everything before this event has been replayed: the client is live again.
                _catchingUp = false;
                _timed?.Record(MetricNames.Resume, Clock.MsBetween(_droppedTicks, ticks));
            }
            bool live = !_catchingUp && ev.Ts >= liveAfterWallMs;
            if (live) _timed?.Record(MetricNames.Delivery, wallMs - ev.Ts);

            switch (ev.Kind)
            {
                case EventKinds.TaskStarted:
                    _startedTs = ev.Ts;
                    break;
                case EventKinds.TextDelta:
                    if (!_firstDelta.Task.IsCompleted)
                    {
                        double ttft = Clock.MsBetween(startTicks, ticks);
                        _timed?.Record(MetricNames.Ttft, ttft);
                        if (_startedTs is double started) _timed?.Record(MetricNames.TtftOverhead, Math.Max(0, ttft - (ev.Ts - started)));
                        _firstDelta.TrySetResult(ticks);
                    }
                    else if (live && _lastDeltaTicks > _droppedTicks)
                    {
                        _timed?.Record(MetricNames.InterToken, Clock.MsBetween(_lastDeltaTicks, ticks));
                    }
                    _lastDeltaTicks = ticks;
                    break;
            }

            if (terminal)
            {
                _timed?.Record(MetricNames.EndToEnd, Clock.MsBetween(startTicks, ticks));
                long missing = ev.Seq - _distinct;
                if (missing > 0) recorder?.Count(MetricNames.Gaps, missing);
                _firstDelta.TrySetResult(ticks);
                _terminal.TrySetResult((ev, ticks));
            }
        }
    }

    private void Track(long seq)
    {
        if (seq < 1) return;
        if (seq >= _seen.Length) Array.Resize(ref _seen, (int)Math.Max(seq + 1, _seen.Length * 2L));
        if (_seen[seq])
        {
            recorder?.Count(MetricNames.Duplicates);
            return;
        }
        if (seq < _maxSeq) recorder?.Count(MetricNames.Reorders);
        _seen[seq] = true;
        _distinct++;
        _maxSeq = Math.Max(_maxSeq, seq);
    }
}
