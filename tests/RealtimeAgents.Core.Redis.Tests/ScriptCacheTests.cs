using System.Text.Json;
using RealtimeAgents.Contracts;
using RealtimeAgents.Testing;
using StackExchange.Redis;
using Xunit;

namespace RealtimeAgents.Core.Redis.Tests;

/// <summary>
/// The stores run their scripts by SHA1. A server that forgot them (restarted without them, a
/// promoted replica that never ran them, SCRIPT FLUSH) answers NOSCRIPT: every store must then
/// send the script's text once and go on, with nothing lost or done twice.
/// </summary>
public abstract class ScriptCacheTests(RedisStores redis)
{
    private static readonly JsonElement Token = JsonSerializer.SerializeToElement(new TextData("m", "x"), ContractsJsonContext.Default.TextData);

    [Fact]
    public async Task AfterEveryServerForgetsTheScripts_EachStoreStillWorks()
    {
        var log = redis.Log(new EventLogOptions());
        var store = redis.Store();
        var queue = redis.Queue(new TaskQueueOptions());
        var control = redis.Control();
        string thread = "th" + Guid.NewGuid().ToString("N");
        var task = new TaskRecord
        {
            TaskId = "t" + Guid.NewGuid().ToString("N"), ThreadId = thread, Owner = "alice", Agent = "demo",
            Input = "hi", Status = TaskStates.Queued, CreatedAt = 1_700_000_000_000,
        };

        // Every script once, so the multiplexer knows each server has them.
        Assert.True((await store.CreateAsync(task).AsTask().DefaultTimeout()).Created);
        Assert.Equal(1, (await log.AppendAsync(task.TaskId, thread, EventKinds.TextDelta, Token, 1).AsTask().DefaultTimeout()).Seq);
        await queue.EnqueueAsync(task.TaskId).AsTask().DefaultTimeout();

        foreach (var endpoint in redis.Multiplexer.GetEndPoints())
        {
            var server = redis.Multiplexer.GetServer(endpoint);
            if (!server.IsReplica) await server.ExecuteAsync("SCRIPT", "FLUSH").DefaultTimeout();
        }

        var second = await log.AppendAsync(task.TaskId, thread, EventKinds.TextDelta, Token, 2).AsTask().DefaultTimeout();
        Assert.Equal(2, second.Seq);
        var info = await log.GetInfoAsync(task.TaskId).AsTask().DefaultTimeout();
        Assert.Equal(2, info!.LastSeq);
        Assert.Equal(2, info.Length);

        var other = task with { TaskId = "t" + Guid.NewGuid().ToString("N") };
        Assert.True((await store.CreateAsync(other).AsTask().DefaultTimeout()).Created);
        var updated = await store.UpdateAsync(other.TaskId, new TaskUpdate(Status: TaskStates.Running)).AsTask().DefaultTimeout();
        Assert.Equal(TaskStates.Running, updated!.Status);

        await queue.EnqueueAsync(other.TaskId).AsTask().DefaultTimeout();
        var leases = await queue.DequeueAsync("c1", 10, TimeSpan.FromSeconds(1)).AsTask().DefaultTimeout();
        Assert.Equal([task.TaskId, other.TaskId], leases.Select(l => l.TaskId));
        await queue.RenewAsync(leases[0]).AsTask().DefaultTimeout();

        await using var subscription = await control.SubscribeAsync(task.TaskId).AsTask().DefaultTimeout();
        await control.SendAsync(task.TaskId, new ControlMessage("m1", ControlMessage.Interrupt)).AsTask().DefaultTimeout();
        var received = await subscription.Messages.ReadAsync().AsTask().DefaultTimeout();
        Assert.Equal("m1", received.Id);
    }
}

public sealed class SingleRedisScriptCacheTests(SingleRedis redis) : ScriptCacheTests(redis), IClassFixture<SingleRedis>;

public sealed class ClusterScriptCacheTests(ClusterRedis redis) : ScriptCacheTests(redis), IClassFixture<ClusterRedis>;
