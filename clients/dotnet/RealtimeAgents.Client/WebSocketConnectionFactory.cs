using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.WebSockets;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Http.Features;

namespace RealtimeAgents.Client;

/// <summary>
/// Connects a <c>HubConnection</c> straight over a WebSocket, without /negotiate: the server
/// accepts a WebSocket to the hub URL as a connection of its own, and no sticky session is
/// needed. (The official factory lives in Http.Connections.Client, which this SDK does without.)
/// </summary>
public sealed class WebSocketConnectionFactory : IConnectionFactory
{
    private readonly Uri[] _hubUrls;
    private readonly Func<Task<string?>>? _accessTokenFactory;
    private readonly IReadOnlyDictionary<string, string> _headers;
    private readonly List<WebSocketConnection> _open = [];
    private volatile TaskCompletionSource? _paused;
    private int _current;

    /// <summary>Creates the factory for one hub URL (http(s):// or ws(s)://).</summary>
    public WebSocketConnectionFactory(Uri hubUrl, Func<Task<string?>>? accessTokenFactory = null,
        IReadOnlyDictionary<string, string>? headers = null)
        : this([hubUrl], accessTokenFactory, headers)
    {
    }

    /// <summary>
    /// Creates the factory for several hub nodes: a connect tries them in turn, starting with the
    /// one that worked last, so a client whose node died reconnects to another.
    /// </summary>
    public WebSocketConnectionFactory(IReadOnlyList<Uri> hubUrls, Func<Task<string?>>? accessTokenFactory = null,
        IReadOnlyDictionary<string, string>? headers = null)
    {
        ArgumentNullException.ThrowIfNull(hubUrls);
        if (hubUrls.Count == 0) throw new ArgumentException("At least one hub URL is needed.", nameof(hubUrls));
        _hubUrls = [.. hubUrls.Select(ToWebSocketUrl)];
        _accessTokenFactory = accessTokenFactory;
        _headers = headers ?? new Dictionary<string, string>();
    }

    /// <summary>The hub URL the last successful connect used.</summary>
    public Uri CurrentUrl => _hubUrls[Volatile.Read(ref _current)];

    private static Uri ToWebSocketUrl(Uri hubUrl)
    {
        var ws = new UriBuilder(hubUrl);
        ws.Scheme = hubUrl.Scheme switch
        {
            "http" or "ws" => "ws",
            "https" or "wss" => "wss",
            _ => throw new ArgumentException($"Unsupported scheme '{hubUrl.Scheme}'.", nameof(hubUrl)),
        };
        return ws.Uri;
    }

    /// <inheritdoc />
    public async ValueTask<ConnectionContext> ConnectAsync(EndPoint endpoint, CancellationToken cancellationToken = default)
    {
        int first = Volatile.Read(ref _current);
        for (int i = 0; ; i++)
        {
            int index = (first + i) % _hubUrls.Length;
            try
            {
                var connection = await ConnectToAsync(_hubUrls[index], cancellationToken).ConfigureAwait(false);
                Volatile.Write(ref _current, index);
                return connection;
            }
            catch (Exception ex) when (ex is WebSocketException or HttpRequestException && i + 1 < _hubUrls.Length)
            {
                // That node is gone; try the next.
            }
        }
    }

    private async Task<ConnectionContext> ConnectToAsync(Uri url, CancellationToken cancellationToken)
    {
        var socket = new ClientWebSocket();
        foreach (var (name, value) in _headers) socket.Options.SetRequestHeader(name, value);
        if (_accessTokenFactory is not null && await _accessTokenFactory().ConfigureAwait(false) is { Length: > 0 } token)
        {
            // Browsers cannot set headers on a WebSocket, so servers accept the query string too;
            // the header is the better place when we can set it.
            socket.Options.SetRequestHeader("Authorization", "Bearer " + token);
        }
        try
        {
            await socket.ConnectAsync(url, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
        var connection = new WebSocketConnection(socket, this);
        lock (_open) _open.Add(connection);
        connection.Start();
        return connection;
    }

    /// <summary>
    /// Stops reading from the sockets, as a client on a stalled network would: the server's
    /// outgoing buffer for this client fills up. For tests and load scenarios of slow clients.
    /// </summary>
    public void PauseReceiving() =>
        Interlocked.CompareExchange(ref _paused, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously), null);

    /// <summary>Reads again after <see cref="PauseReceiving"/>.</summary>
    public void ResumeReceiving() => Interlocked.Exchange(ref _paused, null)?.TrySetResult();

    internal Task WhilePaused => _paused?.Task ?? Task.CompletedTask;

    /// <summary>
    /// Drops every open socket without a close handshake, as a lost network would. For tests
    /// and load scenarios that exercise resume.
    /// </summary>
    public void AbortConnections()
    {
        WebSocketConnection[] open;
        lock (_open) open = [.. _open];
        foreach (var c in open) c.Abort();
    }

    internal void Forget(WebSocketConnection connection)
    {
        lock (_open) _open.Remove(connection);
    }
}

/// <summary>A SignalR transport over one ClientWebSocket: two pipes and a pump each way.</summary>
internal sealed class WebSocketConnection : ConnectionContext
{
    private readonly ClientWebSocket _socket;
    private readonly WebSocketConnectionFactory _factory;
    private readonly Pipe _incoming = new(new PipeOptions(useSynchronizationContext: false));
    private readonly Pipe _outgoing = new(new PipeOptions(useSynchronizationContext: false));
    private readonly CancellationTokenSource _closing = new();
    private Task _receiving = Task.CompletedTask;
    private Task _sending = Task.CompletedTask;

    public WebSocketConnection(ClientWebSocket socket, WebSocketConnectionFactory factory)
    {
        _socket = socket;
        _factory = factory;
        Transport = new Duplex(_incoming.Reader, _outgoing.Writer);
    }

    public override string ConnectionId { get; set; } = Guid.NewGuid().ToString("N");
    public override IFeatureCollection Features { get; } = new FeatureCollection();
    public override IDictionary<object, object?> Items { get; set; } = new Dictionary<object, object?>();
    public override IDuplexPipe Transport { get; set; }

    public void Start()
    {
        _receiving = ReceiveAsync();
        _sending = SendAsync();
    }

    private async Task ReceiveAsync()
    {
        var writer = _incoming.Writer;
        Exception? error = null;
        try
        {
            while (true)
            {
                await _factory.WhilePaused.WaitAsync(_closing.Token).ConfigureAwait(false);
                var memory = writer.GetMemory(4096);
                var result = await _socket.ReceiveAsync(memory, _closing.Token).ConfigureAwait(false);
                if (result.MessageType == WebSocketMessageType.Close) break;
                writer.Advance(result.Count);
                if (result.EndOfMessage)
                {
                    var flush = await writer.FlushAsync().ConfigureAwait(false);
                    if (flush.IsCompleted) break;
                }
            }
        }
        catch (OperationCanceledException) { }
        catch (Exception ex) { error = ex; }
        await writer.CompleteAsync(error).ConfigureAwait(false);
        // The server or the network ended it: stop sending too, so the HubConnection sees one close.
        _outgoing.Reader.CancelPendingRead();
    }

    private async Task SendAsync()
    {
        var reader = _outgoing.Reader;
        try
        {
            while (true)
            {
                var result = await reader.ReadAsync().ConfigureAwait(false);
                if (result.IsCanceled) break;
                var buffer = result.Buffer;
                if (!buffer.IsEmpty)
                {
                    // One WebSocket message per read; SignalR frames are self-delimited inside it.
                    var segments = buffer.GetEnumerator();
                    bool more = segments.MoveNext();
                    while (more)
                    {
                        var segment = segments.Current;
                        more = segments.MoveNext();
                        await _socket.SendAsync(segment, WebSocketMessageType.Text, !more, _closing.Token).ConfigureAwait(false);
                    }
                }
                reader.AdvanceTo(buffer.End);
                if (result.IsCompleted) break;
            }
            if (_socket.State == WebSocketState.Open)
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, timeout.Token).ConfigureAwait(false);
            }
        }
        catch (Exception) when (_closing.IsCancellationRequested || _socket.State != WebSocketState.Open)
        {
        }
        catch (WebSocketException)
        {
        }
        await reader.CompleteAsync().ConfigureAwait(false);
    }

    public override void Abort(ConnectionAbortedException abortReason) => Abort();

    public override void Abort()
    {
        _socket.Abort();
        try
        {
            _closing.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // Disposed meanwhile: it is closed already.
        }
    }

    public override async ValueTask DisposeAsync()
    {
        // Out of the factory's list first, so AbortConnections never reaches a disposed connection.
        _factory.Forget(this);
        await _outgoing.Writer.CompleteAsync().ConfigureAwait(false);
        try { await _sending.WaitAsync(TimeSpan.FromSeconds(3)).ConfigureAwait(false); } catch (TimeoutException) { }
        await _closing.CancelAsync().ConfigureAwait(false);
        _socket.Abort();
        await _receiving.ConfigureAwait(false);
        await _incoming.Reader.CompleteAsync().ConfigureAwait(false);
        _socket.Dispose();
        _closing.Dispose();
    }

    private sealed class Duplex(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;
        public PipeWriter Output { get; } = output;
    }
}
