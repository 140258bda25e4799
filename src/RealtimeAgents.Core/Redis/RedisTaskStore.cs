using System.Globalization;
using System.Security.Cryptography;
using System.Text;
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
    public async ValueTask<TaskCreation> CreateAsync(TaskRecord task, CancellationToken cancellationToken = default)
    {
        string idempotencyKey = task.IdempotencyKey is { } k ? keys.Idempotency(Hash(task.Owner, k)) : "";
        for (int attempt = 0; ; attempt++)
        {
            var args = new List<RedisArg> { task.TaskId, task.Owner, task.Agent, _threadTtlMs, _idempotencyTtlMs };
            AddFields(args, task);
            var reply = await redis.EvaluateAsync(RedisScripts.CreateTask,
                [keys.Task(task.TaskId), keys.Thread(task.ThreadId), keys.ThreadTasks(task.ThreadId), idempotencyKey], args,
                cancellationToken).ConfigureAwait(false);
            if (reply[0].AsInt64() == 1) return new TaskCreation(task, Created: true);
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
        var args = new List<RedisArg> { _endedTtlMs, update.Status is { } s && TaskStates.IsTerminal(s) ? "1" : "0" };
        if (update.Status is { } status) { args.Add("status"); args.Add(status); }
        if (update.Attempt is { } attempt) { args.Add("attempt"); args.Add(attempt); }
        if (update.StartedAt is { } started) { args.Add("startedAt"); args.Add(started); }
        if (update.EndedAt is { } ended) { args.Add("endedAt"); args.Add(ended); }
        var reply = await RedisRetry.RunAsync(() => redis.EvaluateAsync(RedisScripts.UpdateTask, [keys.Task(taskId)], args, cancellationToken),
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
        return new ThreadRecord(threadId, thread.GetValueOrDefault("owner", ""), thread.GetValueOrDefault("agent", ""), ids);
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
    };

    private static string Hash(string owner, string key) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(owner + "\n" + key)));

    private static string Ms(TimeSpan t) => ((long)t.TotalMilliseconds).ToString(CultureInfo.InvariantCulture);
}
