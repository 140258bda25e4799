using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;
using RealtimeAgents.Contracts;
using StackExchange.Redis;

namespace RealtimeAgents.Core.Redis;

/// <summary>
/// Task and thread metadata on Redis: a hash per task, a hash and a list per thread, and the
/// owner's idempotency keys, active tasks and threads. Each step is one script in one slot, so
/// it runs on a Redis Cluster (see <see cref="RedisKeys"/>). An ended task's hash expires with
/// its stream; a thread lives for ThreadTtl after its latest task.
/// </summary>
public sealed class RedisTaskStore(IConnectionMultiplexer redis, RedisKeys keys, IOptions<RedisStoreOptions> storeOptions,
    IOptions<EventLogOptions> logOptions) : ITaskStore
{
    private readonly IDatabase _db = redis.GetDatabase();
    private readonly long _threadTtlMs = Ms(storeOptions.Value.ThreadTtl);
    private readonly long _idempotencyTtlMs = Ms(storeOptions.Value.IdempotencyTtl);
    private readonly long _endedTtlMs = Ms(logOptions.Value.TerminalTtl);

    /// <summary>
    /// Creates a task in three single-slot steps, ordered so that a crash between two of them
    /// leaves nothing a reader can trip over: (1) the task's record, with the thread's TTL, which
    /// nothing points at yet; (2) the owner's reservation: idempotency and limits, atomically
    /// (a refusal or an earlier task for the key deletes the record of step 1); (3) the thread's
    /// list. A crash after (1) leaves a record that expires; after (2) a task that is not in its
    /// thread's list and was never queued, found again by its idempotency key.
    /// </summary>
    public async ValueTask<TaskCreation> CreateAsync(TaskRecord task, OwnerLimits limits = default, CancellationToken cancellationToken = default)
    {
        string ownerHash = Hash(task.Owner);
        // Without an idempotency key the script still gets a key in the owner's slot (unused), so
        // a cluster routes it with the owner's other keys.
        RedisKey idempotencyKey = keys.Idempotency(ownerHash, task.IdempotencyKey is { } k ? Hash(task.Owner + "\n" + k) : "none");
        RedisKey taskKey = keys.Task(task.TaskId);
        for (int attempt = 0; ; attempt++)
        {
            // The look at the thread and the write of the record go out together: one round trip.
            var threadExists = _db.KeyExistsAsync(keys.Thread(task.ThreadId));
            var written = _db.CreateTransaction();
            _ = written.HashSetAsync(taskKey, Fields(task));
            _ = written.KeyExpireAsync(taskKey, TimeSpan.FromMilliseconds(_threadTtlMs));
            await Task.WhenAll(threadExists, written.ExecuteAsync()).ConfigureAwait(false);
            bool newThread = !threadExists.Result;

            var reply = (RedisResult[])(await RedisScripts.ReserveTask.EvaluateAsync(_db,
                [idempotencyKey, keys.OwnerActiveTasks(ownerHash), keys.OwnerThreads(ownerHash)],
                [task.TaskId, task.ThreadId, newThread ? "1" : "0", _threadTtlMs, _idempotencyTtlMs,
                    limits.MaxActiveTasks, limits.MaxThreads, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(),
                    TaskStates.IsTerminal(task.Status) ? "0" : "1", task.IdempotencyKey is null ? "0" : "1"]).ConfigureAwait(false))!;
            long outcome = (long)reply[0];
            if (outcome == 1)
            {
                await RedisScripts.AddToThread.EvaluateAsync(_db, [keys.Thread(task.ThreadId), keys.ThreadTasks(task.ThreadId)],
                    [task.TaskId, task.Owner, task.Agent, SharesJson(task.Shares), _threadTtlMs]).ConfigureAwait(false);
                return new TaskCreation(task, Created: true);
            }
            await _db.KeyDeleteAsync(taskKey).ConfigureAwait(false);
            if (outcome == 2)
            {
                return new TaskCreation(task, Created: false,
                    (string)reply[1]! == "threads" ? CreationRefusal.TooManyThreads : CreationRefusal.TooManyActiveTasks);
            }
            string existingId = (string)reply[1]!;
            if (await GetAsync(existingId, cancellationToken).ConfigureAwait(false) is { } existing)
            {
                return new TaskCreation(existing, Created: false);
            }
            // The key outlived its task (the task expired): forget the key and create anew.
            if (attempt > 0) throw new InvalidOperationException($"idempotency key of task {existingId} keeps pointing at nothing");
            await _db.KeyDeleteAsync(idempotencyKey).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public async ValueTask<TaskRecord?> GetAsync(string taskId, CancellationToken cancellationToken = default) =>
        FromHash(await _db.HashGetAllAsync(keys.Task(taskId)).ConfigureAwait(false));

    /// <summary>
    /// Each task hash is in its own slot (<c>{taskId}</c>), so no script can read them together on
    /// a cluster: the HGETALLs go out as one batch instead, which the multiplexer splits per node,
    /// one round trip per node holding any of them.
    /// </summary>
    public async ValueTask<IReadOnlyList<TaskRecord>> GetManyAsync(IReadOnlyList<string> taskIds, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(taskIds);
        if (taskIds.Count == 0) return [];
        var batch = _db.CreateBatch();
        var reads = new Task<HashEntry[]>[taskIds.Count];
        for (int i = 0; i < reads.Length; i++) reads[i] = batch.HashGetAllAsync(keys.Task(taskIds[i]));
        batch.Execute();
        var found = new List<TaskRecord>(reads.Length);
        foreach (var read in reads)
        {
            if (FromHash(await read.ConfigureAwait(false)) is { } task) found.Add(task);
        }
        return found;
    }

    /// <inheritdoc />
    public async ValueTask<TaskRecord?> UpdateAsync(string taskId, TaskUpdate update, CancellationToken cancellationToken = default)
    {
        bool ended = update.Status is { } s && TaskStates.IsTerminal(s);
        var args = new List<RedisValue> { _endedTtlMs, ended ? "1" : "0" };
        if (update.Status is { } status) { args.Add("status"); args.Add(status); }
        if (update.Attempt is { } attempt) { args.Add("attempt"); args.Add(attempt); }
        if (update.StartedAt is { } started) { args.Add("startedAt"); args.Add(started); }
        if (update.EndedAt is { } endedAt) { args.Add("endedAt"); args.Add(endedAt); }
        var result = await RedisRetry.RunAsync(() => RedisScripts.UpdateTask.EvaluateAsync(_db, [keys.Task(taskId)], [.. args]),
            cancellationToken).ConfigureAwait(false);
        if (result.IsNull || result.Length == 0) return null;
        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        var pairs = (RedisResult[])result!;
        for (int i = 0; i + 1 < pairs.Length; i += 2) fields[(string)pairs[i]!] = (string)pairs[i + 1]!;
        var record = FromHash(fields);
        // The owner's active set is in the owner's slot: a second step (ZREM is safe to repeat).
        if (ended)
        {
            await RedisRetry.RunAsync(() => _db.SortedSetRemoveAsync(keys.OwnerActiveTasks(Hash(record.Owner)), taskId), cancellationToken)
                .ConfigureAwait(false);
        }
        return record;
    }

    /// <inheritdoc />
    public async ValueTask<ThreadRecord?> GetThreadAsync(string threadId, CancellationToken cancellationToken = default)
    {
        // Both keys are in the thread's slot: one round trip.
        var batch = _db.CreateBatch();
        var threadTask = batch.HashGetAllAsync(keys.Thread(threadId));
        var listTask = batch.ListRangeAsync(keys.ThreadTasks(threadId));
        batch.Execute();
        var thread = (await threadTask.ConfigureAwait(false)).ToDictionary(f => (string)f.Name!, f => (string?)f.Value, StringComparer.Ordinal);
        var list = await listTask.ConfigureAwait(false);
        if (thread.Count == 0) return null;
        return new ThreadRecord(threadId, thread.GetValueOrDefault("owner") ?? "", thread.GetValueOrDefault("agent") ?? "",
            [.. list.Select(e => (string)e!)], SharesFrom(thread.GetValueOrDefault("shares")));
    }

    private static HashEntry[] Fields(TaskRecord t)
    {
        var fields = new List<HashEntry>(13);
        void Add(string name, string? value)
        {
            if (value is not null) fields.Add(new HashEntry(name, value));
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
        return [.. fields];
    }

    private static TaskRecord? FromHash(HashEntry[] fields) =>
        fields.Length == 0 ? null : FromHash(fields.ToDictionary(f => (string)f.Name!, f => (string)f.Value!, StringComparer.Ordinal));

    private static TaskRecord FromHash(Dictionary<string, string> f) => new()
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

    // Owners and idempotency keys are free text: hashed before they become part of a key.
    private static string Hash(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));

    private static long Ms(TimeSpan t) => (long)t.TotalMilliseconds;
}
