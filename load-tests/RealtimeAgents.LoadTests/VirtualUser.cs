using System.Collections.Concurrent;
using System.Diagnostics;
using RealtimeAgents.Client;
using RealtimeAgents.Contracts;
using RealtimeAgents.LoadTests.Metrics;
using Microsoft.AspNetCore.SignalR.Client;

namespace RealtimeAgents.LoadTests;

/// <summary>
/// One virtual user: one HubConnection through the SDK, running many tasks over time. A tap on
/// the connection's "event" method sees every event as it comes off the wire, before the SDK
/// drops repeats, so the probes time each event at the earliest moment and count any gap,
/// duplicate or reordering the server lets through.
/// </summary>
internal sealed class VirtualUser : IAsyncDisposable
{
    private static long s_deliveries;
    private readonly ConcurrentDictionary<string, TaskProbe> _probes = new(StringComparer.Ordinal);
    private long _droppedAtTicks;
    private Recorder? _dropRecorder;

    private VirtualUser(RealtimeAgentsClient client)
    {
        Client = client;
        client.Connection.On<AgentEvent>(HubMethods.Event, OnEvent);
        client.Connection.Reconnected += _ =>
        {
            double now = Clock.WallMs();
            long dropped = Interlocked.Exchange(ref _droppedAtTicks, 0);
            if (dropped != 0) _dropRecorder?.Record(MetricNames.Reconnect, Clock.MsSince(dropped));
            foreach (var probe in _probes.Values) probe.OnReconnected(now);
            return Task.CompletedTask;
        };
    }

    /// <summary>Events received by every user of this process, warm-up included.</summary>
    public static long Deliveries => Interlocked.Read(ref s_deliveries);

    public RealtimeAgentsClient Client { get; }

    /// <summary>Connects, recording <see cref="MetricNames.Connect"/> when <paramref name="recorder"/> is given.</summary>
    public static async Task<VirtualUser> ConnectAsync(Uri url, Recorder? recorder, CancellationToken ct, bool messagePack = false)
    {
        long start = Stopwatch.GetTimestamp();
        try
        {
            var client = await RealtimeAgentsClient.ConnectAsync(url, new RealtimeAgentsClientOptions { UseMessagePack = messagePack }, ct).ConfigureAwait(false);
            recorder?.Record(MetricNames.Connect, Clock.MsSince(start));
            recorder?.Ok("connect");
            return new VirtualUser(client);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            recorder?.Fail("connect", Failure.Reason(ex));
            throw;
        }
    }

    /// <summary>Watches a task's events on this connection until the probe is removed.</summary>
    public void Attach(TaskProbe probe) => _probes[probe.TaskId] = probe;

    public void Detach(TaskProbe probe) => _probes.TryRemove(new KeyValuePair<string, TaskProbe>(probe.TaskId, probe));

    /// <summary>
    /// Drops the connection as a lost network would; the SDK reconnects and resumes. The time to
    /// reconnect goes to <paramref name="recorder"/> (null during warm-up).
    /// </summary>
    public void Drop(Recorder? recorder)
    {
        long now = Stopwatch.GetTimestamp();
        _dropRecorder = recorder;
        Interlocked.Exchange(ref _droppedAtTicks, now);
        foreach (var probe in _probes.Values) probe.OnDropped(now);
        Client.ConnectionFactory.AbortConnections();
    }

    private void OnEvent(AgentEvent ev)
    {
        Interlocked.Increment(ref s_deliveries);
        if (_probes.TryGetValue(ev.TaskId, out var probe)) probe.OnEvent(ev, Stopwatch.GetTimestamp(), Clock.WallMs());
    }

    public ValueTask DisposeAsync() => Client.DisposeAsync();
}

/// <summary>Monotonic and wall clocks, in milliseconds.</summary>
internal static class Clock
{
    /// <summary>Unix ms with a fraction, the unit of <see cref="AgentEvent.Ts"/>.</summary>
    public static double WallMs() => (DateTime.UtcNow.Ticks - DateTime.UnixEpoch.Ticks) / (double)TimeSpan.TicksPerMillisecond;

    public static double MsSince(long startTicks) => Stopwatch.GetElapsedTime(startTicks).TotalMilliseconds;

    public static double MsBetween(long startTicks, long endTicks) => Stopwatch.GetElapsedTime(startTicks, endTicks).TotalMilliseconds;
}

/// <summary>Short, groupable failure reasons for the status table.</summary>
internal static class Failure
{
    public static string Reason(Exception ex)
    {
        if (ex is TimeoutException) return "timeout";
        if (ex is OperationCanceledException) return "cancelled";
        if (ex is SubscriptionLostException) return "subscription_lost";
        string message = ex.Message;
        const string Hub = "HubException: ";
        int hub = message.IndexOf(Hub, StringComparison.Ordinal);
        if (hub >= 0) message = message[(hub + Hub.Length)..];
        // Hub refusals start with a code ("limit_exceeded: …"); keep the code.
        int colon = message.IndexOf(':', StringComparison.Ordinal);
        if (colon is > 0 and < 32 && !message[..colon].Contains(' ', StringComparison.Ordinal)) return message[..colon];
        string name = ex.GetType().Name;
        return name.EndsWith("Exception", StringComparison.Ordinal) ? name[..^"Exception".Length] : name;
    }
}
