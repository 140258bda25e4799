using System.Buffers;
using System.Text;
using Microsoft.AspNetCore.Http.Features;

namespace RealtimeAgents.Server.Http;

/// <summary>
/// Writes a Server-Sent Events response. Wire format (WHATWG HTML, "server-sent events"), UTF-8,
/// lines ended by a bare LF:
/// <code>
/// id: 1732200000000-3        (optional; the browser sends it back as Last-Event-ID)
/// event: text.delta          (optional; the EventSource listener name, "message" when absent)
/// data: {"taskId":…}         (one line: our JSON never contains a raw newline)
///                            (a blank line ends the frame)
/// : keep-alive               (a comment, ignored by parsers, keeps idle proxies from closing)
/// </code>
/// Every frame is flushed at once (response buffering is off) so a token reaches the
/// client when it is written. Writes are serialised: the relay's pump and the keep-alive loop
/// share the response. Awaiting a write is the backpressure on the pump.
/// </summary>
internal sealed class SseWriter
{
    private static readonly byte[] KeepAliveFrame = ": keep-alive\n\n"u8.ToArray();
    private readonly HttpResponse _response;
    private readonly SemaphoreSlim _lock = new(1, 1);
    private readonly TimeProvider _time;
    private long _lastWrite;

    public SseWriter(HttpResponse response, TimeProvider time)
    {
        _response = response;
        _time = time;
        _lastWrite = time.GetTimestamp();
    }

    /// <summary>Sets the event-stream headers and sends them, so the client knows the stream is open.</summary>
    public async Task StartAsync(CancellationToken ct)
    {
        _response.StatusCode = StatusCodes.Status200OK;
        _response.ContentType = "text/event-stream; charset=utf-8";
        _response.Headers.CacheControl = "no-cache, no-transform";
        _response.Headers["X-Accel-Buffering"] = "no"; // nginx: do not buffer this response
        _response.HttpContext.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        await _response.StartAsync(ct).ConfigureAwait(false);
        await _response.BodyWriter.FlushAsync(ct).ConfigureAwait(false);
    }

    /// <summary>Writes a whole pre-built frame (see <see cref="Frame"/>).</summary>
    public async ValueTask WriteFrameAsync(ReadOnlyMemory<byte> frame, CancellationToken ct)
    {
        await _lock.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            _response.BodyWriter.Write(frame.Span);
            await FlushAsync(ct).ConfigureAwait(false);
        }
        finally
        {
            _lock.Release();
        }
    }

    /// <summary>
    /// Writes ": keep-alive" whenever nothing was written for <paramref name="interval"/>, until
    /// <paramref name="until"/> ends or <paramref name="ct"/> fires. Runs on the request's own task.
    /// </summary>
    public async Task KeepAliveUntilAsync(Task until, TimeSpan interval, CancellationToken ct)
    {
        while (!until.IsCompleted && !ct.IsCancellationRequested)
        {
            var idle = _time.GetElapsedTime(Interlocked.Read(ref _lastWrite));
            if (idle >= interval)
            {
                await WriteFrameAsync(KeepAliveFrame, ct).ConfigureAwait(false);
                continue;
            }
            try
            {
                await until.WaitAsync(interval - idle, _time, ct).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
            }
        }
    }

    /// <summary>Builds a frame once so it can be written to many streams.</summary>
    public static byte[] Frame(string? id, string? eventName, ReadOnlySpan<byte> data)
    {
        var buffer = new ArrayBufferWriter<byte>(data.Length + 64);
        if (id is not null) { Write(buffer, "id: "u8); Write(buffer, id); Write(buffer, "\n"u8); }
        if (eventName is not null) { Write(buffer, "event: "u8); Write(buffer, eventName); Write(buffer, "\n"u8); }
        Write(buffer, "data: "u8);
        buffer.Write(data);
        Write(buffer, "\n\n"u8);
        return buffer.WrittenSpan.ToArray();
    }

    private async ValueTask FlushAsync(CancellationToken ct)
    {
        await _response.BodyWriter.FlushAsync(ct).ConfigureAwait(false);
        Interlocked.Exchange(ref _lastWrite, _time.GetTimestamp());
    }

    private static void Write(IBufferWriter<byte> writer, ReadOnlySpan<byte> bytes) => writer.Write(bytes);

    private static void Write(IBufferWriter<byte> writer, string text)
    {
        // Ids and event names are ours (digits, dashes, dots, letters); a newline would split the frame.
        if (text.AsSpan().IndexOfAny('\r', '\n') >= 0) throw new ArgumentException("SSE fields cannot contain line breaks.", nameof(text));
        var span = writer.GetSpan(Encoding.UTF8.GetMaxByteCount(text.Length));
        writer.Advance(Encoding.UTF8.GetBytes(text, span));
    }
}
