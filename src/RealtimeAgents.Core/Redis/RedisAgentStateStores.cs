using System.Text.Json;
using Microsoft.Extensions.Options;
using RealtimeAgents.Redis;

namespace RealtimeAgents.Core.Redis;

// Self-contained on purpose (keys, TTLs and JSON here): this file only uses RedisClient's
// ExecuteAsync, so it moves to another Redis client by rewriting the few calls below.

/// <summary>
/// Thread state on Redis: one hash per thread, <c>{prefix}thread:{threadId}:agentstate</c>, a
/// field per key (the agent's name) holding <see cref="AgentThreadState"/> as JSON; it lives as long
/// as the thread (<see cref="RedisStoreOptions.ThreadTtl"/> after the last write).
/// </summary>
public sealed class RedisThreadStateStore(RedisClient redis, RedisKeys keys, IOptions<RedisStoreOptions> options) : IThreadStateStore
{
    private string Key(string threadId) => $"{keys.Prefix}thread:{{{threadId}}}:agentstate";

    /// <inheritdoc />
    public async ValueTask<AgentThreadState?> GetAsync(string threadId, string key, CancellationToken cancellationToken = default)
    {
        var reply = await redis.ExecuteAsync("HGET", [Key(threadId), key], cancellationToken).ConfigureAwait(false);
        return reply.ThrowIfError().AsBytes() is { } json ? JsonSerializer.Deserialize(json, CoreJsonContext.Default.AgentThreadState) : null;
    }

    /// <inheritdoc />
    public async ValueTask SetAsync(string threadId, string key, AgentThreadState state, CancellationToken cancellationToken = default)
    {
        string k = Key(threadId);
        (await redis.ExecuteAsync("HSET", [k, key, JsonSerializer.Serialize(state, CoreJsonContext.Default.AgentThreadState)], cancellationToken)
            .ConfigureAwait(false)).ThrowIfError();
        (await redis.ExecuteAsync("PEXPIRE", [k, (long)options.Value.ThreadTtl.TotalMilliseconds], cancellationToken)
            .ConfigureAwait(false)).ThrowIfError();
    }
}

/// <summary>
/// Approvals on Redis: one hash per task, <c>{prefix}task:{taskId}:approvals</c>, with a field
/// <c>req:{toolCallId}</c> for the request and <c>ans:{toolCallId}</c> for the answer, each
/// written with HSETNX, so the first request and the first answer stick and every later one is
/// refused atomically. The hash expires a day after its last write.
/// </summary>
public sealed class RedisApprovalStore(RedisClient redis, RedisKeys keys) : IApprovalStore
{
    private static readonly long TtlMs = (long)TimeSpan.FromDays(1).TotalMilliseconds;

    private string Key(string taskId) => $"{keys.Prefix}task:{{{taskId}}}:approvals";

    /// <inheritdoc />
    public async ValueTask<(ApprovalRecord Record, bool Created)> RequestAsync(string taskId, ApprovalRequest request,
        CancellationToken cancellationToken = default)
    {
        bool created = await SetOnceAsync(taskId, "req:" + request.ToolCallId,
            JsonSerializer.Serialize(request, CoreJsonContext.Default.ApprovalRequest), cancellationToken).ConfigureAwait(false);
        return ((await GetAsync(taskId, request.ToolCallId, cancellationToken).ConfigureAwait(false))!, created);
    }

    /// <inheritdoc />
    public async ValueTask<ApprovalRecord?> GetAsync(string taskId, string toolCallId, CancellationToken cancellationToken = default)
    {
        var reply = (await redis.ExecuteAsync("HMGET", [Key(taskId), "req:" + toolCallId, "ans:" + toolCallId], cancellationToken)
            .ConfigureAwait(false)).ThrowIfError();
        var request = reply[0].AsBytes() is { } r ? JsonSerializer.Deserialize(r, CoreJsonContext.Default.ApprovalRequest) : null;
        var answer = reply[1].AsBytes() is { } a ? JsonSerializer.Deserialize(a, CoreJsonContext.Default.ApprovalAnswer) : null;
        return request is null && answer is null ? null : new ApprovalRecord(toolCallId, request, answer);
    }

    /// <inheritdoc />
    public async ValueTask<(ApprovalRecord Record, bool Recorded)> AnswerAsync(string taskId, string toolCallId, ApprovalAnswer answer,
        CancellationToken cancellationToken = default)
    {
        bool recorded = await SetOnceAsync(taskId, "ans:" + toolCallId,
            JsonSerializer.Serialize(answer, CoreJsonContext.Default.ApprovalAnswer), cancellationToken).ConfigureAwait(false);
        return ((await GetAsync(taskId, toolCallId, cancellationToken).ConfigureAwait(false))!, recorded);
    }

    /// <inheritdoc />
    public async ValueTask ForgetAsync(string taskId, CancellationToken cancellationToken = default) =>
        // Kept for a while after the task ends (a late answer finds it answered), then expires.
        (await redis.ExecuteAsync("PEXPIRE", [Key(taskId), (long)TimeSpan.FromMinutes(10).TotalMilliseconds], cancellationToken)
            .ConfigureAwait(false)).ThrowIfError();

    private async ValueTask<bool> SetOnceAsync(string taskId, string field, string json, CancellationToken ct)
    {
        string key = Key(taskId);
        var set = (await redis.ExecuteAsync("HSETNX", [key, field, json], ct).ConfigureAwait(false)).ThrowIfError();
        (await redis.ExecuteAsync("PEXPIRE", [key, TtlMs], ct).ConfigureAwait(false)).ThrowIfError();
        return set.AsInt64() == 1;
    }
}
