using System.Buffers;
using System.IO.Pipelines;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Protocol;
using Microsoft.Extensions.Logging.Abstractions;
using RealtimeAgents.Testing;
using Xunit;

namespace RealtimeAgents.Backplane.Tests;

/// <summary>The hub the backplane tests route for (its full name is part of every channel name).</summary>
public sealed class TestHub : Hub
{
}

/// <summary>An invocation a test connection received: its target and its arguments as JSON.</summary>
public sealed record Received(string Target, JsonElement Arguments)
{
    /// <summary>The first argument, which the tests always make a string.</summary>
    public string Text => Arguments[0].GetString()!;
}

/// <summary>
/// A real <see cref="HubConnectionContext"/> over in-memory pipes, speaking the JSON hub protocol, with a
/// pump that parses every frame the server side writes so a test can await them one by one.
/// </summary>
public sealed class TestConnection : IAsyncDisposable
{
    private const byte RecordSeparator = 0x1e;

    private readonly Pipe _toClient = new(new PipeOptions(useSynchronizationContext: false));
    private readonly Pipe _toServer = new(new PipeOptions(useSynchronizationContext: false));
    private readonly Channel<Received> _received = Channel.CreateUnbounded<Received>();
    private readonly Task _pump;

    public TestConnection(string? userId = null, IHubProtocol? protocol = null)
    {
        var connection = new DefaultConnectionContext("c-" + Guid.NewGuid().ToString("N")[..10],
            new Duplex(_toServer.Reader, _toClient.Writer), new Duplex(_toClient.Reader, _toServer.Writer));
        Context = new HubConnectionContext(connection, new HubConnectionContextOptions { KeepAliveInterval = Timeout.InfiniteTimeSpan },
            NullLoggerFactory.Instance)
        {
            Protocol = protocol ?? new JsonHubProtocol(),
            UserIdentifier = userId,
        };
        _pump = Task.Run(PumpAsync);
    }

    public HubConnectionContext Context { get; }

    public string Id => Context.ConnectionId;

    /// <summary>The next invocation this connection was sent.</summary>
    public Task<Received> ReadAsync(int timeoutMs = TaskTimeoutExtensions.DefaultTimeoutMilliseconds) =>
        _received.Reader.ReadAsync().AsTask().DefaultTimeout(timeoutMs);

    /// <summary>The next invocation, which must carry <paramref name="text"/>.</summary>
    public async Task ExpectAsync(string text)
    {
        Received received = await ReadAsync();
        Assert.Equal("message", received.Target);
        Assert.Equal(text, received.Text);
    }

    /// <summary>
    /// The next invocations, carrying <paramref name="texts"/> in any order: for messages from different
    /// nodes, whose relative order nothing defines.
    /// </summary>
    public async Task ExpectInAnyOrderAsync(params string[] texts)
    {
        var got = new List<string>();
        foreach (string _ in texts)
        {
            got.Add((await ReadAsync()).Text);
        }

        Assert.Equal(texts.Order(StringComparer.Ordinal), got.Order(StringComparer.Ordinal));
    }

    /// <summary>
    /// Waits a moment and checks nothing (more) arrived. Used after the positive checks of a test have
    /// already proved the route works, so the wait only gives a wrong delivery time to show up.
    /// </summary>
    public async Task ExpectNothingMoreAsync(int waitMs = 300)
    {
        await Task.Delay(waitMs);
        if (_received.Reader.TryRead(out Received? extra))
        {
            Assert.Fail($"Connection {Id} got an unexpected {extra.Target}({extra.Arguments}).");
        }
    }

    private async Task PumpAsync()
    {
        PipeReader reader = _toClient.Reader;
        while (true)
        {
            ReadResult result = await reader.ReadAsync();
            ReadOnlySequence<byte> buffer = result.Buffer;
            while (buffer.PositionOf(RecordSeparator) is { } end)
            {
                ReadOnlySequence<byte> frame = buffer.Slice(0, end);
                buffer = buffer.Slice(buffer.GetPosition(1, end));
                using JsonDocument json = JsonDocument.Parse(frame);
                JsonElement root = json.RootElement;
                if (root.GetProperty("type").GetInt32() == HubProtocolConstants.InvocationMessageType)
                {
                    _received.Writer.TryWrite(new Received(root.GetProperty("target").GetString()!, root.GetProperty("arguments").Clone()));
                }
            }

            reader.AdvanceTo(buffer.Start, buffer.End);
            if (result.IsCompleted)
            {
                _received.Writer.TryComplete();
                return;
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _toClient.Writer.CompleteAsync();
        await _pump.DefaultTimeout();
        await _toServer.Writer.CompleteAsync();
    }

    private sealed class Duplex(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;

        public PipeWriter Output { get; } = output;
    }
}
