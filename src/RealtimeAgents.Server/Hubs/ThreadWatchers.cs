using System.Collections.Concurrent;
using System.Security.Claims;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Options;
using RealtimeAgents.Contracts;
using RealtimeAgents.Core;
using RealtimeAgents.Server.Auth;

namespace RealtimeAgents.Server.Hubs;

/// <summary>
/// The thread watches (SubscribeThread) of this node's connections. A new task in a thread is
/// announced to every node through the control channel, keyed by the thread id, carrying only the
/// task id; each node then decides per watcher, with the caller's current identity, whether to
/// pass it on (<see cref="ThreadService.NoticeForWatcherAsync"/>). So a follow-up that un-shares the
/// thread, or a token that expired, ends the watch (threadEnded) instead of leaking the new task.
/// A SignalR group cannot do this: it sends the same message to every member.
/// </summary>
public sealed partial class ThreadWatchers(IControlChannel control, ThreadService threads, IHubContext<AgentHub> hub, CallerResolver callers,
    IOptions<AuthOptions> auth, TimeProvider time, ILogger<ThreadWatchers> logger)
{
    private const string NoticeType = ThreadNotices.NoticeType;

    private readonly ConcurrentDictionary<(string Connection, string Thread), Watch> _watches = new();

    /// <summary>Watches in use by a connection on this node.</summary>
    public int CountOf(string connectionId) => _watches.Keys.Count(k => k.Connection == connectionId);

    /// <summary>
    /// Starts (or restarts) the connection's watch of a thread: listens first, then reads the
    /// thread, so no task created in between is missed; tasks already listed are not announced.
    /// </summary>
    public async Task<ThreadInfo> WatchAsync(HubCallerContext caller, string threadId, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(caller);
        var subscription = await control.SubscribeAsync(threadId, ct).ConfigureAwait(false);
        ThreadInfo thread;
        try
        {
            thread = await threads.GetThreadAsync(callers.For(caller.User), threadId, ct).ConfigureAwait(false);
        }
        catch
        {
            await subscription.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        var watch = new Watch(this, caller.ConnectionId, caller.User, thread.ThreadId, subscription, thread.Tasks.Select(t => t.TaskId));
        Watch? replaced = null;
        _watches.AddOrUpdate((caller.ConnectionId, thread.ThreadId), watch, (_, old) => { replaced = old; return watch; });
        if (replaced is not null) await replaced.DisposeAsync().ConfigureAwait(false);
        watch.Start();
        return thread;
    }

    /// <summary>Stops the connection's watch of the thread.</summary>
    public async ValueTask UnwatchAsync(string connectionId, string threadId)
    {
        if (_watches.TryRemove((connectionId, threadId), out var watch)) await watch.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>Stops every watch of a connection that went away.</summary>
    public async ValueTask RemoveConnectionAsync(string connectionId)
    {
        foreach (var key in _watches.Keys.Where(k => k.Connection == connectionId).ToList())
        {
            await UnwatchAsync(key.Connection, key.Thread).ConfigureAwait(false);
        }
    }

    private async Task PumpAsync(Watch watch)
    {
        try
        {
            await foreach (var message in watch.Subscription.Messages.ReadAllAsync(watch.Stop.Token).ConfigureAwait(false))
            {
                if (message.Type != NoticeType || message.Text is not { } taskId || !watch.Seen.Add(taskId)) continue;
                string? ended = null;
                ThreadTaskNotice? notice = null;
                if (callers.AuthenticationEnabled && AuthExtensions.ExpiryOf(watch.User) is { } expiry &&
                    time.GetUtcNow() >= expiry + auth.Value.ClockSkew)
                {
                    ended = ThreadWatchEnded.TokenExpired;
                }
                else
                {
                    try
                    {
                        notice = await threads.NoticeForWatcherAsync(callers.For(watch.User), watch.ThreadId, taskId, watch.Stop.Token)
                            .ConfigureAwait(false);
                    }
                    catch (RealtimeAgentsException ex) when (ex.Code == ErrorCodes.NotFound)
                    {
                        ended = ThreadWatchEnded.AccessLost;
                    }
                }
                var client = hub.Clients.Client(watch.ConnectionId);
                if (ended is not null)
                {
                    LogWatchEnded(logger, watch.ConnectionId, watch.ThreadId, ended);
                    _watches.TryRemove(new KeyValuePair<(string, string), Watch>((watch.ConnectionId, watch.ThreadId), watch));
                    await client.SendAsync(HubMethods.ThreadEnded, new ThreadWatchEnded(watch.ThreadId, ended), watch.Stop.Token).ConfigureAwait(false);
                    await watch.DisposeAsync().ConfigureAwait(false);
                    return;
                }
                if (notice is not null) await client.SendAsync(HubMethods.ThreadTask, notice, watch.Stop.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (watch.Stop.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            // The store went away mid-notice, say: the watch stops; the client's next
            // SubscribeThread (the SDK's resubscribe after a reconnect) starts a new one.
            LogWatchFailed(logger, ex, watch.ConnectionId, watch.ThreadId);
            _watches.TryRemove(new KeyValuePair<(string, string), Watch>((watch.ConnectionId, watch.ThreadId), watch));
            await watch.DisposeAsync().ConfigureAwait(false);
        }
    }

    private sealed class Watch(ThreadWatchers owner, string connectionId, ClaimsPrincipal? user, string threadId,
        IControlSubscription subscription, IEnumerable<string> known) : IAsyncDisposable
    {
        private int _disposed;
        public string ConnectionId { get; } = connectionId;
        public ClaimsPrincipal? User { get; } = user;
        public string ThreadId { get; } = threadId;
        public IControlSubscription Subscription { get; } = subscription;
        public HashSet<string> Seen { get; } = new(known, StringComparer.Ordinal);
        public CancellationTokenSource Stop { get; } = new();

        public void Start() => _ = Task.Run(() => owner.PumpAsync(this));

        public async ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
            await Stop.CancelAsync().ConfigureAwait(false);
            await Subscription.DisposeAsync().ConfigureAwait(false);
        }
    }

    [LoggerMessage(EventId = 31, EventName = "ThreadWatchEnded", Level = LogLevel.Debug,
        Message = "Connection {ConnectionId} stopped watching thread {ThreadId}: {Reason}.")]
    private static partial void LogWatchEnded(ILogger logger, string connectionId, string threadId, string reason);

    [LoggerMessage(EventId = 32, EventName = "ThreadWatchFailed", Level = LogLevel.Warning,
        Message = "The watch of thread {ThreadId} by connection {ConnectionId} stopped.")]
    private static partial void LogWatchFailed(ILogger logger, Exception exception, string connectionId, string threadId);
}

/// <summary>Announces each new task of a thread to the thread's watchers on every node (see <see cref="ThreadWatchers"/>).</summary>
public sealed class ThreadNotices(IControlChannel control) : ITaskNotifier
{
    /// <summary>The control message type that announces a thread's new task (Text is the task id, nothing more).</summary>
    public const string NoticeType = "threadTask";

    /// <inheritdoc />
    public async ValueTask TaskCreatedAsync(ThreadTaskNotice notice, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(notice);
        // Watchers listen live, and one that starts later reads the thread first, so nothing
        // needs to be kept per thread: the forget goes out right behind the send, one round trip
        // for both (same key, so the same server and connection, in order). Were the send retried
        // after the forget, the notice would stay kept until its TTL; a watcher that starts
        // meanwhile skips it, as it skips every task it already read from the thread.
        var sent = control.SendAsync(notice.ThreadId, new ControlMessage(Ids.NewMessageId(), NoticeType, Text: notice.TaskId),
            cancellationToken).AsTask();
        var forgotten = control.ForgetAsync(notice.ThreadId, cancellationToken).AsTask();
        await Task.WhenAll(sent, forgotten).ConfigureAwait(false);
    }
}
