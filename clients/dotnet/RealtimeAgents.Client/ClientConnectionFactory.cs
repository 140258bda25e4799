using System.IO.Pipelines;
using System.Net;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Http.Connections.Client;
using Microsoft.AspNetCore.Http.Features;

namespace RealtimeAgents.Client;

/// <summary>
/// The SDK's connection factory: SignalR's own <see cref="HttpConnectionFactory"/> (negotiate,
/// WebSockets / Server-Sent Events / long polling) over several hub URLs tried in turn, starting
/// with the one that worked last, so a client whose node died reconnects to another. It also
/// lets tests and load scenarios act as a bad network would (<see cref="AbortConnections"/>,
/// <see cref="PauseReceiving"/>; internal, for those projects only).
/// </summary>
public sealed class ClientConnectionFactory : IConnectionFactory
{
    private readonly Uri[] _hubUrls;
    private readonly List<ClientConnection> _open = [];
    private volatile TaskCompletionSource? _paused;
    private int _current;

    internal ClientConnectionFactory(IReadOnlyList<Uri> hubUrls)
    {
        if (hubUrls.Count == 0) throw new ArgumentException("At least one hub URL is needed.", nameof(hubUrls));
        _hubUrls = [.. hubUrls];
    }

    private IConnectionFactory[]? _inner;

    /// <summary>
    /// Makes the factory of each hub URL. (One each: SignalR's factory connects only to the URL
    /// its options name.)
    /// </summary>
    internal void Attach(Func<Uri, IConnectionFactory> factoryFor) => _inner = [.. _hubUrls.Select(factoryFor)];

    /// <summary>The hub URL the last successful connect used.</summary>
    public Uri CurrentUrl => _hubUrls[Volatile.Read(ref _current)];

    /// <inheritdoc />
    public async ValueTask<ConnectionContext> ConnectAsync(EndPoint endpoint, CancellationToken cancellationToken = default)
    {
        var inner = _inner ?? throw new InvalidOperationException("The factory is not attached to a connection.");
        int first = Volatile.Read(ref _current);
        for (int i = 0; ; i++)
        {
            int index = (first + i) % _hubUrls.Length;
            try
            {
                var connection = new ClientConnection(await inner[index].ConnectAsync(new UriEndPoint(_hubUrls[index]), cancellationToken)
                    .ConfigureAwait(false), this);
                Volatile.Write(ref _current, index);
                lock (_open) _open.Add(connection);
                return connection;
            }
            catch (Exception) when (i + 1 < _hubUrls.Length && !cancellationToken.IsCancellationRequested)
            {
                // That node is gone; try the next.
            }
        }
    }

    /// <summary>
    /// Stops reading from the connections, as a client on a stalled network would: the server's
    /// outgoing buffer for this client fills up. For tests and load scenarios of slow clients.
    /// </summary>
    internal void PauseReceiving() =>
        Interlocked.CompareExchange(ref _paused, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously), null);

    /// <summary>Reads again after <see cref="PauseReceiving"/>.</summary>
    internal void ResumeReceiving() => Interlocked.Exchange(ref _paused, null)?.TrySetResult();

    internal Task WhilePaused => _paused?.Task ?? Task.CompletedTask;

    /// <summary>
    /// Drops every open connection, as a lost network would: the client sees its connection fail
    /// and reconnects. For tests and load scenarios that exercise resume.
    /// </summary>
    internal void AbortConnections()
    {
        ClientConnection[] open;
        lock (_open) open = [.. _open];
        foreach (var c in open) c.Drop();
    }

    internal void Forget(ClientConnection connection)
    {
        lock (_open) _open.Remove(connection);
    }
}

/// <summary>
/// An <see cref="HttpConnection"/> whose incoming side can be paused or dropped. A drop fails the
/// next read, so the HubConnection treats it as a lost connection and reconnects.
/// </summary>
internal sealed class ClientConnection : ConnectionContext
{
    private readonly ConnectionContext _inner;
    private readonly ClientConnectionFactory _factory;
    private readonly GatedReader _input;

    public ClientConnection(ConnectionContext inner, ClientConnectionFactory factory)
    {
        _inner = inner;
        _factory = factory;
        _input = new GatedReader(inner.Transport.Input, factory);
        Transport = new Duplex(_input, inner.Transport.Output);
    }

    public override string ConnectionId { get => _inner.ConnectionId; set => _inner.ConnectionId = value; }
    public override IFeatureCollection Features => _inner.Features;
    public override IDictionary<object, object?> Items { get => _inner.Items; set => _inner.Items = value; }
    public override IDuplexPipe Transport { get; set; }

    public void Drop() => _input.Drop();

    public override void Abort(ConnectionAbortedException abortReason) => _inner.Abort(abortReason);

    public override async ValueTask DisposeAsync()
    {
        _factory.Forget(this);
        await _inner.DisposeAsync().ConfigureAwait(false);
    }

    private sealed class Duplex(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;
        public PipeWriter Output { get; } = output;
    }

    private sealed class GatedReader(PipeReader inner, ClientConnectionFactory factory) : PipeReader
    {
        private readonly CancellationTokenSource _dropped = new();

        public void Drop()
        {
            try
            {
                _dropped.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // Completed meanwhile: it is closed already.
            }
            inner.CancelPendingRead();
        }

        public override async ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken = default)
        {
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _dropped.Token);
            try
            {
                await factory.WhilePaused.WaitAsync(linked.Token).ConfigureAwait(false);
                var result = await inner.ReadAsync(cancellationToken).ConfigureAwait(false);
                ThrowIfDropped();
                return result;
            }
            catch (OperationCanceledException) when (_dropped.IsCancellationRequested)
            {
                throw Dropped();
            }
        }

        public override bool TryRead(out ReadResult result)
        {
            ThrowIfDropped();
            if (factory.WhilePaused.IsCompleted) return inner.TryRead(out result);
            result = default;
            return false;
        }

        private void ThrowIfDropped()
        {
            if (_dropped.IsCancellationRequested) throw Dropped();
        }

        private static ConnectionAbortedException Dropped() => new("The connection was dropped (ClientConnectionFactory.AbortConnections).");

        public override void AdvanceTo(SequencePosition consumed) => inner.AdvanceTo(consumed);
        public override void AdvanceTo(SequencePosition consumed, SequencePosition examined) => inner.AdvanceTo(consumed, examined);
        public override void CancelPendingRead() => inner.CancelPendingRead();
        public override void Complete(Exception? exception = null) => inner.Complete(exception);
    }
}
