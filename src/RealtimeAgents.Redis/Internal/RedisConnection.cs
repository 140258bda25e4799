using System.Buffers;
using System.Diagnostics;
using System.IO.Pipelines;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;

namespace RealtimeAgents.Redis.Internal;

/// <summary>
/// One socket to the server: handshake, a pipelined writer, a reader that matches replies to commands in
/// FIFO order, and a timeout scan. It never reconnects; its owner replaces it when <see cref="Failed"/> fires.
/// </summary>
/// <remarks>
/// Writing. Callers serialize their command into <see cref="_active"/> under <see cref="_sync"/> and append
/// their <see cref="PendingCommand"/> to the FIFO in the same critical section, so the FIFO order is the
/// byte order on the wire. The caller that finds no send in progress becomes the sender: it swaps the
/// buffers and writes the batch to the socket, and keeps going while others appended meanwhile. With one
/// caller that is a direct socket write with no thread hop; with fifty it is one write per batch. A
/// PipeWriter does not fit this: it is single-producer and cannot accept writes while its FlushAsync is
/// pending, which would force a writer thread and a hop per batch.
/// Reading. A PipeReader over the socket's stream hands us whatever arrived; every complete value is
/// parsed, and each reply completes the oldest pending command. RESP3 push frames are not replies and are
/// handed to <see cref="_pushHandler"/> instead.
/// Timeouts. A timed-out command is failed for its caller but keeps its FIFO slot; when its reply finally
/// arrives it is read and discarded, so matching never shifts. The connection is only replaced when the
/// socket itself fails (or a protocol error makes the stream unreadable).
/// </remarks>
internal sealed class RedisConnection : IAsyncDisposable, IThreadPoolWorkItem
{
    private readonly RedisOptions _options;
    private readonly ILogger _logger;
    private readonly PendingCommandPool _pool;
    private readonly RedisCounters _counters;
    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private readonly PipeReader _input;
    private readonly Action<RedisConnection, RedisReply>? _pushHandler;
    private readonly Lock _sync = new();
    private readonly Timer _timeoutTimer;
    private readonly TaskCompletionSource _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private OutputBuffer _active = new();
    private OutputBuffer _spare = new();
    private bool _sending;
    private PendingCommand?[] _queue = new PendingCommand?[64];
    private int _head;
    private int _count;
    private bool _isClosed;
    private Task _readLoop = Task.CompletedTask;
    private readonly List<RedisReply> _replyBatch = [];
    private readonly long _deadAfter;
    private long _lastRead = Stopwatch.GetTimestamp();
    private long _oldestWritten; // when the queue last went from empty to non-empty; guarded by _sync

    private RedisConnection(RedisOptions options, ILogger logger, PendingCommandPool pool, RedisCounters counters, Socket socket,
        string role, Action<RedisConnection, RedisReply>? pushHandler, Action<RedisConnection, Exception>? onFailed)
    {
        Failed = onFailed;
        _options = options;
        _logger = logger;
        _pool = pool;
        _counters = counters;
        _socket = socket;
        Role = role;
        _pushHandler = pushHandler;
        _stream = new NetworkStream(socket, ownsSocket: false);
        _input = PipeReader.Create(_stream, new StreamPipeReaderOptions(bufferSize: 64 * 1024, minimumReadSize: 4 * 1024, leaveOpen: true));
        TimeSpan period = TimeSpan.FromTicks(Math.Clamp(options.CommandTimeout.Ticks / 8, TimeSpan.FromMilliseconds(10).Ticks, TimeSpan.FromSeconds(1).Ticks));
        _deadAfter = role == "blocking" ? long.MaxValue : ToTimestamp(options.DeadConnectionTimeout);
        _timeoutTimer = new Timer(static s => ((RedisConnection)s!).ScanTimeouts(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        _timeoutTimer.Change(period, period);
        if (socket.AddressFamily != AddressFamily.Unix)
        {
            // The kernel's own probe for a peer that disappeared; slow (minutes), but free.
            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.KeepAlive, true);
        }
    }

    /// <summary>Called once, after the connection closed and every pending command was failed.</summary>
    private Action<RedisConnection, Exception>? Failed { get; }

    public string Role { get; }

    /// <summary>2 or 3: the RESP version the handshake settled on.</summary>
    public int Protocol { get; private set; } = 2;

    /// <summary>When true every frame goes to the push handler (a RESP2 connection in subscribe mode
    /// answers with arrays that are not replies to anything in the FIFO).</summary>
    public bool SubscriberMode { get; set; }

    public bool IsClosed => Volatile.Read(ref _isClosed);

    public Task Closed => _closed.Task;

    public int PendingCount
    {
        get
        {
            lock (_sync)
            {
                return _count;
            }
        }
    }

    public string Endpoint => _options.EndpointDisplay;

    /// <summary>Opens the socket and runs the handshake (HELLO/AUTH, CLIENT SETNAME, SELECT) within ConnectTimeout.</summary>
    public static async Task<RedisConnection> ConnectAsync(RedisOptions options, ILogger logger, PendingCommandPool pool, RedisCounters counters,
        string role, Action<RedisConnection, RedisReply>? pushHandler, Action<RedisConnection, Exception>? onFailed, CancellationToken cancellationToken)
    {
        RedisOptions.EndPointInfo endpoint = options.GetEndPoint();
        Socket socket = endpoint.UnixPath is not null
            ? new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified)
            : new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.ConnectTimeout);
        RedisConnection? connection = null;
        try
        {
            await socket.ConnectAsync(endpoint.Create(), timeout.Token).ConfigureAwait(false);
            connection = new RedisConnection(options, logger, pool, counters, socket, role, pushHandler, onFailed);
            connection.Start();
            await connection.HandshakeAsync(timeout.Token).ConfigureAwait(false);
            RedisLog.Connected(logger, role, options.EndpointDisplay, connection.Protocol);
            return connection;
        }
        catch (Exception ex)
        {
            if (connection is not null)
            {
                await connection.DisposeAsync().ConfigureAwait(false);
            }

            socket.Dispose();
            if (ex is OperationCanceledException && cancellationToken.IsCancellationRequested)
            {
                throw;
            }

            if (ex is RedisServerException server)
            {
                throw new RedisConnectionException($"Redis at {options.EndpointDisplay} refused the connection handshake: {server.Message}", ex);
            }

            if (ex is OperationCanceledException)
            {
                throw new RedisConnectionException($"Could not connect to Redis at {options.EndpointDisplay} within {options.ConnectTimeout.TotalMilliseconds} ms.", ex);
            }

            throw new RedisConnectionException($"Could not connect to Redis at {options.EndpointDisplay}: {ex.Message}", ex);
        }
    }

    private void Start() => _readLoop = Task.Run(ReadLoopAsync);

    private async Task HandshakeAsync(CancellationToken cancellationToken)
    {
        long deadline = Stopwatch.GetTimestamp() + ToTimestamp(_options.ConnectTimeout);
        bool legacy = _options.Protocol == RedisProtocol.Resp2;
        if (!legacy)
        {
            var args = new List<RedisArg> { 3 };
            if (_options.Password is not null)
            {
                args.Add("AUTH");
                args.Add(_options.User ?? "default");
                args.Add(_options.Password);
            }

            if (_options.ClientName is not null)
            {
                args.Add("SETNAME");
                args.Add(_options.ClientName);
            }

            try
            {
                await Send("HELLO", args.ToArray(), deadline, cancellationToken).ConfigureAwait(false);
                Protocol = 3;
            }
            catch (RedisServerException ex) when (ex.Prefix is not ("WRONGPASS" or "NOAUTH" or "NOPERM"))
            {
                // Redis < 6 (unknown command) or a server that disables RESP3 (NOPROTO).
                RedisLog.Resp3Refused(_logger, ex.Message);
                legacy = true;
            }
        }

        if (legacy)
        {
            if (_options.Password is not null)
            {
                RedisArg[] auth = _options.User is null ? [_options.Password] : [_options.User, _options.Password];
                await Send("AUTH", auth, deadline, cancellationToken).ConfigureAwait(false);
            }

            if (_options.ClientName is not null)
            {
                await Send("CLIENT", ["SETNAME", _options.ClientName], deadline, cancellationToken).ConfigureAwait(false);
            }

            // Without HELLO nothing above proves the server will serve us (e.g. requirepass and no password
            // configured): find out now, not on the first real command.
            await Send("PING", [], deadline, cancellationToken).ConfigureAwait(false);
        }

        if (_options.Database != 0)
        {
            await Send("SELECT", [_options.Database], deadline, cancellationToken).ConfigureAwait(false);
        }
    }

    private ValueTask<RedisReply> Send(string command, RedisArg[] args, long deadline, CancellationToken cancellationToken) =>
        TryExecute(command, args, deadline, cancellationToken, out ValueTask<RedisReply> reply)
            ? reply
            : throw new RedisConnectionException("Connection closed during the handshake.");

    public static long ToTimestamp(TimeSpan span) =>
        span == Timeout.InfiniteTimeSpan || span >= TimeSpan.FromDays(365) ? long.MaxValue / 2 : (long)(span.TotalSeconds * Stopwatch.Frequency);

    /// <summary>
    /// Writes one command and returns the awaitable for its reply. Returns false, having written nothing,
    /// when the connection is already closed (the caller may then use another connection).
    /// </summary>
    public bool TryExecute(string command, ReadOnlySpan<RedisArg> args, long deadline, CancellationToken cancellationToken, out ValueTask<RedisReply> reply)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            reply = ValueTask.FromCanceled<RedisReply>(cancellationToken);
            return true;
        }

        PendingCommand pending = _pool.Rent();
        bool startSender;
        bool deferSend;
        short version;
        lock (_sync)
        {
            if (_isClosed)
            {
                _pool.Return(pending);
                reply = default;
                return false;
            }

            int mark = _active.WrittenCount;
            try
            {
                RespWriter.WriteCommand(_active, command, args);
            }
            catch
            {
                _active.Truncate(mark);
                _pool.Return(pending);
                throw;
            }

            version = pending.Version;
            pending.Start(command, deadline);
            Enqueue(pending);
            startSender = !_sending;
            _sending = true;
            deferSend = _count > 1;
        }

        pending.RegisterCancellation(cancellationToken);
        _counters.CommandSent();
        if (startSender)
        {
            if (deferSend)
            {
                // Other replies are still due, so the server is busy with earlier commands and sending this
                // one a moment later costs nothing; meanwhile the callers those replies wake up get to append
                // theirs, and one socket write carries them all.
                // Queued as this object itself (no allocation): it is never queued twice, since only the caller
                // that flipped _sending to true starts a send.
                ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
            }
            else
            {
                _ = SendLoopAsync();
            }
        }

        reply = new ValueTask<RedisReply>(pending, version);
        return true;
    }

    /// <summary>Writes a command whose answer is not a reply in the FIFO (SUBSCRIBE in subscriber mode).</summary>
    public bool TrySendWithoutReply(string command, ReadOnlySpan<RedisArg> args)
    {
        bool startSender;
        lock (_sync)
        {
            if (_isClosed)
            {
                return false;
            }

            RespWriter.WriteCommand(_active, command, args);
            startSender = !_sending;
            _sending = true;
        }

        _counters.CommandSent();
        if (startSender)
        {
            _ = SendLoopAsync();
        }

        return true;
    }

    void IThreadPoolWorkItem.Execute() => _ = SendLoopAsync();

    private async Task SendLoopAsync()
    {
        try
        {
            while (true)
            {
                OutputBuffer batch;
                lock (_sync)
                {
                    if (_active.WrittenCount == 0 || _isClosed)
                    {
                        _sending = false;
                        return;
                    }

                    batch = _active;
                    _active = _spare;
                    _spare = batch;
                }

                ReadOnlyMemory<byte> remaining = batch.WrittenMemory;
                while (!remaining.IsEmpty)
                {
                    int sent = await _socket.SendAsync(remaining, SocketFlags.None).ConfigureAwait(false);
                    remaining = remaining[sent..];
                }

                batch.Clear();
            }
        }
        catch (Exception ex)
        {
            lock (_sync)
            {
                _sending = false;
            }

            Fail(new RedisConnectionException($"Writing to Redis at {Endpoint} failed: {ex.Message}", ex));
        }
    }

    private async Task ReadLoopAsync()
    {
        Exception? error = null;
        try
        {
            while (true)
            {
                ReadResult result = await _input.ReadAsync().ConfigureAwait(false);
                Volatile.Write(ref _lastRead, Stopwatch.GetTimestamp());
                ReadOnlySequence<byte> buffer = result.Buffer;
                SequencePosition consumed = ProcessReplies(buffer);
                if (result.IsCompleted || result.IsCanceled)
                {
                    error = new RedisConnectionException($"Redis at {Endpoint} closed the connection.");
                    break;
                }

                _input.AdvanceTo(consumed, buffer.End);
            }
        }
        catch (Exception ex)
        {
            error = ex is RedisException ? ex : new RedisConnectionException($"Reading from Redis at {Endpoint} failed: {ex.Message}", ex);
        }

        Fail(error);
    }

    private SequencePosition ProcessReplies(ReadOnlySequence<byte> buffer)
    {
        var reader = new SequenceReader<byte>(buffer);
        List<RedisReply> replies = _replyBatch;
        try
        {
            while (true)
            {
                SequenceReader<byte> attempt = reader;
                if (!RespParser.TryParse(ref attempt, out RedisReply reply))
                {
                    break;
                }

                reader = attempt;
                if (reply.Kind == RedisReplyKind.Push || SubscriberMode)
                {
                    OnPush(reply);
                }
                else
                {
                    replies.Add(reply);
                }
            }

            CompleteReplies(replies);
            return reader.Position;
        }
        finally
        {
            replies.Clear();
        }
    }

    private void OnPush(RedisReply reply)
    {
        if (_pushHandler is not null)
        {
            _pushHandler(this, reply);
        }
        else
        {
            RedisLog.UnexpectedPush(_logger, reply.ToString());
        }
    }

    /// <summary>Matches a batch of replies to the oldest pending commands: one lock for the whole batch.</summary>
    private void CompleteReplies(List<RedisReply> replies)
    {
        if (replies.Count == 0)
        {
            return;
        }

        PendingCommand[] matched = ArrayPool<PendingCommand>.Shared.Rent(replies.Count);
        int count;
        lock (_sync)
        {
            count = Math.Min(replies.Count, _count);
            for (int i = 0; i < count; i++)
            {
                matched[i] = Dequeue()!;
            }
        }

        try
        {
            for (int i = 0; i < count; i++)
            {
                matched[i].TrySetResult(replies[i]);
                matched[i].ReleaseFromQueue();
            }
        }
        finally
        {
            matched.AsSpan(0, count).Clear();
            ArrayPool<PendingCommand>.Shared.Return(matched);
        }

        if (count < replies.Count)
        {
            throw new RedisProtocolException($"Redis sent a reply with no command waiting for it: {replies[count]}");
        }
    }

    private void ScanTimeouts()
    {
        long now = Stopwatch.GetTimestamp();
        List<PendingCommand>? expired = null;
        bool dead;
        lock (_sync)
        {
            // Waiting commands, and silence for longer than DeadConnectionTimeout since the last byte or since the
            // oldest of them was written: nobody is answering on this socket.
            dead = _count > 0 && now - Math.Max(Volatile.Read(ref _lastRead), _oldestWritten) > _deadAfter;
            for (int i = 0; i < _count; i++)
            {
                PendingCommand p = _queue[(_head + i) & (_queue.Length - 1)]!;
                if (p.Deadline > now)
                {
                    break;
                }

                if (!p.IsCompleted)
                {
                    (expired ??= []).Add(p);
                }
            }
        }

        if (dead)
        {
            Fail(new RedisConnectionException(
                $"Redis at {Endpoint} sent nothing for {_options.DeadConnectionTimeout.TotalMilliseconds} ms while commands were waiting; the connection is replaced."));
            return;
        }

        if (expired is null)
        {
            return;
        }

        long timeoutMs = (long)_options.CommandTimeout.TotalMilliseconds;
        foreach (PendingCommand p in expired)
        {
            string command = p.Command;
            if (p.TryFail(new RedisTimeoutException($"Redis {command} got no reply within its timeout ({timeoutMs} ms command timeout) from {Endpoint}.")))
            {
                _counters.Timeout();
                RedisLog.CommandTimedOut(_logger, command, timeoutMs);
            }
        }
    }

    /// <summary>Closes the socket and fails every pending command. Idempotent.</summary>
    public void Fail(Exception reason)
    {
        PendingCommand[] drained;
        lock (_sync)
        {
            if (_isClosed)
            {
                return;
            }

            Volatile.Write(ref _isClosed, true);
            drained = new PendingCommand[_count];
            for (int i = 0; i < drained.Length; i++)
            {
                drained[i] = Dequeue()!;
            }
        }

        _timeoutTimer.Dispose();
        try
        {
            _socket.Shutdown(SocketShutdown.Both);
        }
        catch (SocketException)
        {
        }
        catch (ObjectDisposedException)
        {
        }

        _socket.Dispose();
        foreach (PendingCommand p in drained)
        {
            p.TryFail(reason is RedisProtocolException
                ? new RedisProtocolException($"Redis at {Endpoint} sent bytes that are not RESP before {p.Command} got its reply: {reason.Message}")
                : new RedisConnectionException($"Redis connection to {Endpoint} was lost before {p.Command} got its reply.", reason));
            p.ReleaseFromQueue();
        }

        if (reason is not ObjectDisposedException)
        {
            RedisLog.ConnectionFailed(_logger, Role, Endpoint, drained.Length, reason);
        }

        _closed.TrySetResult();
        Failed?.Invoke(this, reason);
    }

    public async ValueTask DisposeAsync()
    {
        Fail(new ObjectDisposedException(nameof(RedisConnection)));
        try
        {
            await _readLoop.WaitAsync(TimeSpan.FromSeconds(2)).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
        }

        await _input.CompleteAsync().ConfigureAwait(false);
        await _stream.DisposeAsync().ConfigureAwait(false);
    }

    private void Enqueue(PendingCommand pending)
    {
        if (_count == _queue.Length)
        {
            var bigger = new PendingCommand?[_queue.Length * 2];
            for (int i = 0; i < _count; i++)
            {
                bigger[i] = _queue[(_head + i) & (_queue.Length - 1)];
            }

            _queue = bigger;
            _head = 0;
        }

        _queue[(_head + _count) & (_queue.Length - 1)] = pending;
        if (_count++ == 0)
        {
            _oldestWritten = Stopwatch.GetTimestamp();
        }
    }

    private PendingCommand? Dequeue()
    {
        if (_count == 0)
        {
            return null;
        }

        PendingCommand? pending = _queue[_head];
        _queue[_head] = null;
        _head = (_head + 1) & (_queue.Length - 1);
        _count--;
        return pending;
    }
}
