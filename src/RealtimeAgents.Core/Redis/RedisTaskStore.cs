using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;
using RealtimeAgents.Contracts;
using RealtimeAgents.Redis;

namespace RealtimeAgents.Core.Redis;

/// <summary>
/// Task and thread metadata on Redis: a hash per task, a hash and a list per thread, and a
/// string per idempotency key, written by create_task.lua / update_task.lua so each change is
/// atomic. An ended task's hash expires with its stream; a thread lives for ThreadTtl after its
/// latest task.
/// </summary>
public sealed class RedisTaskStore(RedisClient redis, RedisKeys keys, IOptions<RedisStoreOptions> storeOptions,
    IOptions<EventLogOptions> logOptions) : ITaskStore
{
    private readonly string _threadTtlMs = Ms(storeOptions.Value.ThreadTtl);
    private readonly string _idempotencyTtlMs = Ms(storeOptions.Value.IdempotencyTtl);
    private readonly string _endedTtlMs = Ms(logOptions.Value.TerminalTtl);

    /// <inheritdoc />
    public async ValueTask<TaskCreation> CreateAsync(TaskRecord task, OwnerLimits limits = default, CancellationToken cancellationToken = default)
    {
        string idempotencyKey = task.IdempotencyKey is { } k ? keys.Idempotency(Hash(task.Owner, k)) : "";
        string owner = OwnerHash(task.Owner);
        for (int attempt = 0; ; attempt++)
        {
            var args = new List<RedisArg>
            {
                task.TaskId, task.Owner, task.Agent, SharesJson(task.Shares), _threadTtlMs, _idempotencyTtlMs,
                limits.MaxActiveTasks, limits.MaxThreads, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(),
                TaskStates.IsTerminal(task.Status) ? "0" : "1", task.ThreadId,
            };
            AddFields(args, task);
            var reply = await redis.EvaluateAsync(RedisScripts.CreateTask,
                [keys.Task(task.TaskId), keys.Thread(task.ThreadId), keys.ThreadTasks(task.ThreadId), idempotencyKey,
                 keys.OwnerActiveTasks(owner), keys.OwnerThreads(owner)], args,
                cancellationToken).ConfigureAwait(false);
            long outcome = reply[0].AsInt64();
            if (outcome == 1) return new TaskCreation(task, Created: true);
            if (outcome == 2)
            {
                return new TaskCreation(task, Created: false,
                    reply[1].AsString() == "threads" ? CreationRefusal.TooManyThreads : CreationRefusal.TooManyActiveTasks);
            }
            string existingId = reply[1].AsString()!;
            if (await GetAsync(existingId, cancellationToken).ConfigureAwait(false) is { } existing)
            {
                return new TaskCreation(existing, Created: false);
            }
            // The key outlived its task (the task expired): forget the key and create anew.
            if (attempt > 0) throw new InvalidOperationException($"idempotency key of task {existingId} keeps pointing at nothing");
            await redis.DelAsync(idempotencyKey, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public async ValueTask<TaskRecord?> GetAsync(string taskId, CancellationToken cancellationToken = default)
    {
        var fields = await redis.HGetAllAsync(keys.Task(taskId), cancellationToken).ConfigureAwait(false);
        return fields.Count == 0 ? null : FromHash(fields);
    }

    /// <inheritdoc />
    public async ValueTask<TaskRecord?> UpdateAsync(string taskId, TaskUpdate update, CancellationToken cancellationToken = default)
    {
        bool ended = update.Status is { } s && TaskStates.IsTerminal(s);
        // An ended task leaves its owner's active set in the same script; the owner names that key.
        string activeKey = "";
        if (ended && await redis.ExecuteAsync("HGET", [keys.Task(taskId), "owner"], cancellationToken).ConfigureAwait(false) is
            { IsNull: false } owner)
        {
            activeKey = keys.OwnerActiveTasks(OwnerHash(owner.AsString()!));
        }
        var args = new List<RedisArg> { _endedTtlMs, ended ? "1" : "0", taskId };
        if (update.Status is { } status) { args.Add("status"); args.Add(status); }
        if (update.Attempt is { } attempt) { args.Add("attempt"); args.Add(attempt); }
        if (update.StartedAt is { } started) { args.Add("startedAt"); args.Add(started); }
        if (update.EndedAt is { } endedAt) { args.Add("endedAt"); args.Add(endedAt); }
        var reply = await RedisRetry.RunAsync(() => redis.EvaluateAsync(RedisScripts.UpdateTask, [keys.Task(taskId), activeKey], args, cancellationToken),
            cancellationToken).ConfigureAwait(false);
        if (reply.IsNull || reply.Count == 0) return null;
        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, value) in reply.AsPairs()) fields[name.AsString()!] = value.AsString()!;
        return FromHash(fields);
    }

    /// <inheritdoc />
    public async ValueTask<ThreadRecord?> GetThreadAsync(string threadId, CancellationToken cancellationToken = default)
    {
        var thread = await redis.HGetAllAsync(keys.Thread(threadId), cancellationToken).ConfigureAwait(false);
        if (thread.Count == 0) return null;
        var list = await redis.ExecuteAsync("LRANGE", [keys.ThreadTasks(threadId), 0, -1], cancellationToken).ConfigureAwait(false);
        var ids = list.Elements.Select(e => e.AsString()!).ToList();
        return new ThreadRecord(threadId, thread.GetValueOrDefault("owner", ""), thread.GetValueOrDefault("agent", ""), ids,
            SharesFrom(thread.GetValueOrDefault("shares")));
    }

    private static void AddFields(List<RedisArg> args, TaskRecord t)
    {
        void Add(string name, string? value)
        {
            if (value is null) return;
            args.Add(name);
            args.Add(value);
        }
        Add("taskId", t.TaskId);
        Add("threadId", t.ThreadId);
        Add("owner", t.Owner);
        Add("agent", t.Agent);
        Add("input", t.Input);
        Add("options", t.OptionsJson);
        Add("status", t.Status);
        Add("attempt", t.Attempt.ToString(CultureInfo.InvariantCulture));
        Add("createdAt", t.CreatedAt.ToString(CultureInfo.InvariantCulture));
        Add("startedAt", t.StartedAt?.ToString(CultureInfo.InvariantCulture));
        Add("endedAt", t.EndedAt?.ToString(CultureInfo.InvariantCulture));
        Add("idempotencyKey", t.IdempotencyKey);
        if (t.Shares.Count > 0) Add("shares", SharesJson(t.Shares));
        Add("traceParent", t.TraceParent);
    }

    private static TaskRecord FromHash(IReadOnlyDictionary<string, string> f) => new()
    {
        TaskId = f["taskId"],
        ThreadId = f["threadId"],
        Owner = f["owner"],
        Agent = f["agent"],
        Input = f["input"],
        OptionsJson = f.GetValueOrDefault("options"),
        Status = f["status"],
        Attempt = int.Parse(f.GetValueOrDefault("attempt", "0"), CultureInfo.InvariantCulture),
        CreatedAt = long.Parse(f.GetValueOrDefault("createdAt", "0"), CultureInfo.InvariantCulture),
        StartedAt = f.TryGetValue("startedAt", out var s) ? long.Parse(s, CultureInfo.InvariantCulture) : null,
        EndedAt = f.TryGetValue("endedAt", out var e) ? long.Parse(e, CultureInfo.InvariantCulture) : null,
        IdempotencyKey = f.GetValueOrDefault("idempotencyKey"),
        Shares = SharesFrom(f.GetValueOrDefault("shares")),
        TraceParent = f.GetValueOrDefault("traceParent"),
    };

    private static string SharesJson(TaskShares shares) =>
        shares.Count == 0 ? "" : JsonSerializer.Serialize<IReadOnlyList<TaskShare>>(shares, ContractsJsonContext.Default.IReadOnlyListTaskShare);

    private static TaskShares SharesFrom(string? json) =>
        string.IsNullOrEmpty(json)
            ? TaskShares.None
            : new TaskShares(JsonSerializer.Deserialize(json, ContractsJsonContext.Default.IReadOnlyListTaskShare) ?? []);

    private static string Hash(string owner, string key) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(owner + "\n" + key)));

    private static string OwnerHash(string owner) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(owner)));

    private static string Ms(TimeSpan t) => ((long)t.TotalMilliseconds).ToString(CultureInfo.InvariantCulture);
}
