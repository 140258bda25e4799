using System.Collections.Concurrent;
using System.Threading.Tasks.Sources;

namespace RealtimeAgents.Redis.Internal;

/// <summary>
/// The awaitable for one command in flight. Reused through <see cref="PendingCommandPool"/> so a command
/// costs no Task/TaskCompletionSource allocation.
/// </summary>
/// <remarks>
/// Three parties can complete it: the reader (reply), the timeout scan, and the caller's token. The first
/// wins through <see cref="_state"/>; the others become no-ops. It stays in the connection's FIFO until
/// the reader (or teardown) removes it even when a timeout already completed it, because the reply is
/// still coming and must be matched to this slot and thrown away, not to the next command. It is reset
/// and pooled only when both the FIFO has let go of it and the awaiter has read its result: the two
/// references counted in <see cref="_refs"/>.
/// </remarks>
internal sealed class PendingCommand : IValueTaskSource<RedisReply>
{
    private static readonly Action<object?> s_onCancel = static s => ((PendingCommand)s!).TryFail(null);

    private readonly PendingCommandPool _pool;
    private ManualResetValueTaskSourceCore<RedisReply> _core;
    private CancellationTokenRegistration _registration;
    private CancellationToken _token;
    private int _state; // 0 = waiting, 1 = completed
    private int _refs;

    public PendingCommand(PendingCommandPool pool, bool runContinuationsAsynchronously)
    {
        _pool = pool;
        _core.RunContinuationsAsynchronously = runContinuationsAsynchronously;
    }

    /// <summary>Stopwatch timestamp after which the timeout scan fails this command.</summary>
    public long Deadline { get; private set; }

    public string Command { get; private set; } = string.Empty;

    public bool IsCompleted => Volatile.Read(ref _state) != 0;

    public short Version => _core.Version;

    /// <summary>Arms the command. Called under the connection's lock, so it must not run callbacks.</summary>
    public void Start(string command, long deadline)
    {
        Command = command;
        Deadline = deadline;
        _state = 0;
        _refs = 2;
    }

    /// <summary>
    /// Hooks the caller's token, outside the connection's lock (an already cancelled token runs the callback
    /// right here, and with inline continuations that would run caller code under the lock). Safe to call
    /// after the reply already arrived: the object cannot be recycled before its awaiter read the result.
    /// </summary>
    public void RegisterCancellation(CancellationToken token)
    {
        if (token.CanBeCanceled)
        {
            _token = token;
            _registration = token.UnsafeRegister(s_onCancel, this);
        }
    }

    public bool TrySetResult(RedisReply reply)
    {
        if (Interlocked.Exchange(ref _state, 1) != 0)
        {
            return false;
        }

        if (reply.Kind == RedisReplyKind.Error)
        {
            _core.SetException(new RedisServerException(reply.AsString()!));
        }
        else
        {
            _core.SetResult(reply);
        }

        return true;
    }

    /// <summary>Fails the command; a null exception means "cancelled by the caller's token".</summary>
    public bool TryFail(Exception? error)
    {
        if (Interlocked.Exchange(ref _state, 1) != 0)
        {
            return false;
        }

        _core.SetException(error ?? new OperationCanceledException(_token));
        return true;
    }

    /// <summary>The connection's FIFO no longer holds this command.</summary>
    public void ReleaseFromQueue() => Release();

    public RedisReply GetResult(short token)
    {
        try
        {
            return _core.GetResult(token);
        }
        finally
        {
            Release();
        }
    }

    public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);

    public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);

    private void Release()
    {
        if (Interlocked.Decrement(ref _refs) != 0)
        {
            return;
        }

        _registration.Dispose();
        _registration = default;
        _token = default;
        Command = string.Empty;
        _core.Reset();
        _pool.Return(this);
    }
}

/// <summary>A bounded stack of idle <see cref="PendingCommand"/> objects.</summary>
internal sealed class PendingCommandPool
{
    private const int MaxRetained = 1024;
    private readonly ConcurrentQueue<PendingCommand> _items = new();
    private readonly bool _asyncContinuations;
    private int _count;

    public PendingCommandPool(bool asyncContinuations) => _asyncContinuations = asyncContinuations;

    public PendingCommand Rent()
    {
        if (_items.TryDequeue(out PendingCommand? item))
        {
            Interlocked.Decrement(ref _count);
            return item;
        }

        return new PendingCommand(this, _asyncContinuations);
    }

    public void Return(PendingCommand item)
    {
        if (Interlocked.Increment(ref _count) <= MaxRetained)
        {
            _items.Enqueue(item);
        }
        else
        {
            Interlocked.Decrement(ref _count);
        }
    }
}
