using System.Collections.Concurrent;
using System.Threading.Channels;

namespace RealtimeAgents.Core.InMemory;

/// <summary>
/// The control channel in process memory: per task, the last <see cref="MaxKept"/> messages and
/// the open subscriptions. Sending under the task's lock keeps every subscriber's order.
/// </summary>
public sealed class InMemoryControlChannel : IControlChannel
{
    /// <summary>Messages kept per task for a worker that has not subscribed yet.</summary>
    public const int MaxKept = 64;

    private readonly ConcurrentDictionary<string, TaskControl> _tasks = new(StringComparer.Ordinal);

    /// <inheritdoc />
    public ValueTask SendAsync(string taskId, ControlMessage message, CancellationToken cancellationToken = default)
    {
        var control = _tasks.GetOrAdd(taskId, static _ => new TaskControl());
        lock (control)
        {
            if (control.Kept.Count == MaxKept) control.Kept.RemoveAt(0);
            control.Kept.Add(message);
            foreach (var sub in control.Subscribers) sub.Writer.TryWrite(message);
        }
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public ValueTask<IControlSubscription> SubscribeAsync(string taskId, CancellationToken cancellationToken = default)
    {
        var control = _tasks.GetOrAdd(taskId, static _ => new TaskControl());
        var channel = Channel.CreateUnbounded<ControlMessage>(new UnboundedChannelOptions { SingleReader = true });
        lock (control)
        {
            foreach (var kept in control.Kept) channel.Writer.TryWrite(kept);
            control.Subscribers.Add(channel);
        }
        return ValueTask.FromResult<IControlSubscription>(new Subscription(control, channel));
    }

    /// <inheritdoc />
    public ValueTask ForgetAsync(string taskId, CancellationToken cancellationToken = default)
    {
        if (_tasks.TryGetValue(taskId, out var control))
        {
            lock (control)
            {
                control.Kept.Clear();
                if (control.Subscribers.Count == 0) _tasks.TryRemove(new KeyValuePair<string, TaskControl>(taskId, control));
            }
        }
        return ValueTask.CompletedTask;
    }

    private sealed class TaskControl
    {
        public readonly List<ControlMessage> Kept = [];
        public readonly List<Channel<ControlMessage>> Subscribers = [];
    }

    private sealed class Subscription(TaskControl control, Channel<ControlMessage> channel) : IControlSubscription
    {
        public ChannelReader<ControlMessage> Messages => channel.Reader;

        public ValueTask DisposeAsync()
        {
            lock (control) control.Subscribers.Remove(channel);
            channel.Writer.TryComplete();
            return ValueTask.CompletedTask;
        }
    }
}
