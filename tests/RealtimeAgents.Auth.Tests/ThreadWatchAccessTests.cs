using Microsoft.AspNetCore.SignalR.Client;
using RealtimeAgents.Contracts;
using RealtimeAgents.Testing;
using Xunit;

namespace RealtimeAgents.Auth.Tests;

/// <summary>A thread watch is re-checked at every new task: losing access ends it, and nothing leaks.</summary>
public sealed class ThreadWatchAccessTests(AuthServerFixture fixture) : IClassFixture<AuthServerFixture>
{
    private AuthServer Server => fixture.Server;
    private static string NewName(string prefix) => prefix + "-" + Guid.NewGuid().ToString("N")[..8];

    [Fact]
    public async Task AFollowUpThatUnsharesTheThread_EndsTheWatch_AndItsInputNeverReachesTheWatcher()
    {
        string group = NewName("team");
        var alice = await Server.ConnectAsync(Tokens.For(NewName("alice")));
        var bob = await Server.ConnectAsync(Tokens.For(NewName("bob"), [group]));
        var ended = new TaskCompletionSource<ThreadWatchEnded>(TaskCreationOptions.RunContinuationsAsynchronously);
        var leaked = new List<ThreadTaskNotice>();
        bob.Connection.On<ThreadWatchEnded>(HubMethods.ThreadEnded, e => ended.TrySetResult(e));
        bob.Connection.On<ThreadTaskNotice>(HubMethods.ThreadTask, n => { lock (leaked) if (n.Input.Contains("private", StringComparison.Ordinal)) leaked.Add(n); });

        var first = await alice.SubmitAsync(AuthServer.Demo(share: [new TaskShare(group, ShareAccess.Read)])).DefaultTimeout();
        var (_, newTasks) = await bob.WatchThreadAsync(first.ThreadId).DefaultTimeout();
        // A follow-up that keeps the shares reaches bob.
        var shared = await alice.SubmitAsync(AuthServer.Demo(threadId: first.ThreadId)).DefaultTimeout();
        Assert.Equal(shared.TaskId, (await newTasks.ReadAsync().AsTask().DefaultTimeout()).TaskId);

        var secret = await alice.SubmitAsync(AuthServer.Demo(threadId: first.ThreadId, share: [], input: "private: the surprise party")).DefaultTimeout();
        var end = await ended.Task.DefaultTimeout();
        Assert.Equal(first.ThreadId, end.ThreadId);
        Assert.Equal(ThreadWatchEnded.AccessLost, end.Reason);

        // Shared again: bob's ended watch hears nothing of it either.
        var reshared = await alice.SubmitAsync(AuthServer.Demo(threadId: first.ThreadId, share: [new TaskShare(group, ShareAccess.Read)],
            input: "private again")).DefaultTimeout();
        var (_, aliceTasks) = await alice.WatchThreadAsync(first.ThreadId).DefaultTimeout();
        var last = await alice.SubmitAsync(AuthServer.Demo(threadId: first.ThreadId, share: [])).DefaultTimeout();
        Assert.Equal(last.TaskId, (await aliceTasks.ReadAsync().AsTask().DefaultTimeout()).TaskId);
        Assert.NotEqual(secret.TaskId, reshared.TaskId);
        lock (leaked) Assert.Empty(leaked);
    }

    [Fact]
    public async Task AWatcherWhoseTokenExpired_GetsTheEndOfTheWatch_NotTheNewTask()
    {
        var alice = await Server.ConnectAsync(Tokens.For(NewName("alice")));
        string bobId = NewName("bob");
        var first = await alice.SubmitAsync(AuthServer.Demo(share: [new TaskShare("night-shift", ShareAccess.Read)])).DefaultTimeout();
        string shortToken = Tokens.For(bobId, ["night-shift"], lifetime: TimeSpan.FromSeconds(2));
        var bob = await Server.ConnectAsync(shortToken);
        var ended = new TaskCompletionSource<ThreadWatchEnded>(TaskCreationOptions.RunContinuationsAsynchronously);
        int notices = 0;
        bob.Connection.On<ThreadWatchEnded>(HubMethods.ThreadEnded, e => ended.TrySetResult(e));
        bob.Connection.On<ThreadTaskNotice>(HubMethods.ThreadTask, _ => Interlocked.Increment(ref notices));
        await bob.Connection.InvokeAsync<ThreadInfo>(HubMethods.SubscribeThread, first.ThreadId).DefaultTimeout();

        var wait = Tokens.ExpiryOf(shortToken) - DateTimeOffset.UtcNow + TimeSpan.FromMilliseconds(200);
        if (wait > TimeSpan.Zero) await Task.Delay(wait);
        await alice.SubmitAsync(AuthServer.Demo(threadId: first.ThreadId)).DefaultTimeout();
        Assert.Equal(ThreadWatchEnded.TokenExpired, (await ended.Task.DefaultTimeout()).Reason);
        Assert.Equal(0, Volatile.Read(ref notices));
    }

    [Fact]
    public async Task UnsubscribeThread_StopsTheNotices_OfThatConnectionOnly()
    {
        var alice = await Server.ConnectAsync(Tokens.For(NewName("alice")));
        var other = await Server.ConnectAsync(Tokens.For(NewName("carol"), ["ops"]));
        var bob = await Server.ConnectAsync(Tokens.For(NewName("bob"), ["ops"]));
        var first = await alice.SubmitAsync(AuthServer.Demo(share: [new TaskShare("ops", ShareAccess.Read)])).DefaultTimeout();
        var (_, bobTasks) = await bob.WatchThreadAsync(first.ThreadId).DefaultTimeout();
        var (_, otherTasks) = await other.WatchThreadAsync(first.ThreadId).DefaultTimeout();

        await bob.UnwatchThreadAsync(first.ThreadId).DefaultTimeout();
        int bobNotices = 0;
        bob.Connection.On<ThreadTaskNotice>(HubMethods.ThreadTask, _ => Interlocked.Increment(ref bobNotices));
        var second = await alice.SubmitAsync(AuthServer.Demo(threadId: first.ThreadId)).DefaultTimeout();
        var third = await alice.SubmitAsync(AuthServer.Demo(threadId: first.ThreadId)).DefaultTimeout();
        Assert.Equal(second.TaskId, (await otherTasks.ReadAsync().AsTask().DefaultTimeout()).TaskId);
        Assert.Equal(third.TaskId, (await otherTasks.ReadAsync().AsTask().DefaultTimeout()).TaskId);
        // Notices of one thread reach every node's watchers in one order; carol has both, so bob would have too.
        await Task.Delay(200);
        Assert.Equal(0, Volatile.Read(ref bobNotices));
        Assert.True(bobTasks.Completion.IsCompleted);
    }
}
