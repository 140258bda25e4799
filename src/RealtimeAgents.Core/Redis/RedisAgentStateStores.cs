using System.Text.Json;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace RealtimeAgents.Core.Redis;

/// <summary>
/// Thread state on Redis: one hash per thread (<see cref="RedisKeys.ThreadAgentState"/>, in the
/// thread's slot), a field per key (the agent's name) holding <see cref="AgentThreadState"/> as
/// JSON; it lives as long as the thread (<see cref="RedisStoreOptions.ThreadTtl"/> after the last write).
/// </summary>
public sealed class RedisThreadStateStore(IConnectionMultiplexer redis, RedisKeys keys, IOptions<RedisStoreOptions> options) : IThreadStateStore
{
    private readonly IDatabase _db = redis.GetDatabase();

    /// <inheritdoc />
    public async ValueTask<AgentThreadState?> GetAsync(string threadId, string key, CancellationToken cancellationToken = default)
    {
        var json = await _db.HashGetAsync(keys.ThreadAgentState(threadId), key).ConfigureAwait(false);
        return json.IsNull ? null : JsonSerializer.Deserialize((byte[])json!, CoreJsonContext.Default.AgentThreadState);
    }

    /// <inheritdoc />
    public async ValueTask SetAsync(string threadId, string key, AgentThreadState state, CancellationToken cancellationToken = default)
    {
        string k = keys.ThreadAgentState(threadId);
        await _db.HashSetAsync(k, key, JsonSerializer.Serialize(state, CoreJsonContext.Default.AgentThreadState)).ConfigureAwait(false);
        await _db.KeyExpireAsync(k, options.Value.ThreadTtl).ConfigureAwait(false);
    }
}

/// <summary>
/// Approvals on Redis: one hash per task (<see cref="RedisKeys.Approvals"/>, in the task's slot),
/// with a field <c>req:{toolCallId}</c> for the request and <c>ans:{toolCallId}</c> for the
/// answer, each written with HSETNX, so the first request and the first answer stick and every
/// later one is refused atomically. The hash expires a day after its last write.
/// </summary>
public sealed class RedisApprovalStore(IConnectionMultiplexer redis, RedisKeys keys) : IApprovalStore
{
    private static readonly TimeSpan Ttl = TimeSpan.FromDays(1);
    private readonly IDatabase _db = redis.GetDatabase();

    /// <inheritdoc />
    public async ValueTask<(ApprovalRecord Record, bool Created)> RequestAsync(string taskId, ApprovalRequest request,
        CancellationToken cancellationToken = default)
    {
        bool created = await SetOnceAsync(taskId, "req:" + request.ToolCallId,
            JsonSerializer.Serialize(request, CoreJsonContext.Default.ApprovalRequest)).ConfigureAwait(false);
        return ((await GetAsync(taskId, request.ToolCallId, cancellationToken).ConfigureAwait(false))!, created);
    }

    /// <inheritdoc />
    public async ValueTask<ApprovalRecord?> GetAsync(string taskId, string toolCallId, CancellationToken cancellationToken = default)
    {
        var values = await _db.HashGetAsync(keys.Approvals(taskId), ["req:" + toolCallId, "ans:" + toolCallId]).ConfigureAwait(false);
        var request = values[0].IsNull ? null : JsonSerializer.Deserialize((byte[])values[0]!, CoreJsonContext.Default.ApprovalRequest);
        var answer = values[1].IsNull ? null : JsonSerializer.Deserialize((byte[])values[1]!, CoreJsonContext.Default.ApprovalAnswer);
        return request is null && answer is null ? null : new ApprovalRecord(toolCallId, request, answer);
    }

    /// <inheritdoc />
    public async ValueTask<(ApprovalRecord Record, bool Recorded)> AnswerAsync(string taskId, string toolCallId, ApprovalAnswer answer,
        CancellationToken cancellationToken = default)
    {
        bool recorded = await SetOnceAsync(taskId, "ans:" + toolCallId,
            JsonSerializer.Serialize(answer, CoreJsonContext.Default.ApprovalAnswer)).ConfigureAwait(false);
        return ((await GetAsync(taskId, toolCallId, cancellationToken).ConfigureAwait(false))!, recorded);
    }

    /// <inheritdoc />
    public async ValueTask ForgetAsync(string taskId, CancellationToken cancellationToken = default) =>
        // Kept for a while after the task ends (a late answer finds it answered), then expires.
        await _db.KeyExpireAsync(keys.Approvals(taskId), TimeSpan.FromMinutes(10)).ConfigureAwait(false);

    private async Task<bool> SetOnceAsync(string taskId, string field, string json)
    {
        string key = keys.Approvals(taskId);
        bool set = await _db.HashSetAsync(key, field, json, When.NotExists).ConfigureAwait(false);
        await _db.KeyExpireAsync(key, Ttl).ConfigureAwait(false);
        return set;
    }
}
