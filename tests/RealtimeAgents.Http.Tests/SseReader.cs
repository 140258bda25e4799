using System.Text;
using System.Text.Json;
using RealtimeAgents.Contracts;
using RealtimeAgents.Testing;

namespace RealtimeAgents.Http.Tests;

/// <summary>One Server-Sent Events frame, or a comment line (<see cref="Comment"/> set).</summary>
public sealed record SseFrame(string? Id, string? Event, string? Data, string? Comment = null)
{
    public AgentEvent AsAgentEvent() => JsonSerializer.Deserialize(Data!, ContractsJsonContext.Default.AgentEvent)!;

    public JsonElement Json => JsonDocument.Parse(Data!).RootElement;
}

/// <summary>
/// A small SSE parser over a plain HttpClient response, as the WHATWG spec reads the format:
/// lines end with LF (or CRLF), "field: value", a blank line dispatches a frame, ":" starts a
/// comment. Comments are returned as frames too, so tests can count keep-alives.
/// </summary>
public sealed class SseReader : IAsyncDisposable
{
    private readonly StreamReader _reader;

    public SseReader(HttpResponseMessage response)
    {
        Response = response;
        _reader = new StreamReader(response.Content.ReadAsStream(), Encoding.UTF8);
    }

    public HttpResponseMessage Response { get; }

    /// <summary>The next frame or comment; null when the response ended.</summary>
    public async Task<SseFrame?> ReadAsync(CancellationToken ct = default)
    {
        string? id = null, ev = null;
        StringBuilder? data = null;
        while (true)
        {
            string? line = await _reader.ReadLineAsync(ct);
            if (line is null) return data is null ? null : new SseFrame(id, ev, data.ToString());
            if (line.Length == 0)
            {
                if (data is null && id is null && ev is null) continue;
                return new SseFrame(id, ev, data?.ToString());
            }
            if (line[0] == ':') return new SseFrame(null, null, null, line[1..].Trim());
            int colon = line.IndexOf(':', StringComparison.Ordinal);
            string field = colon < 0 ? line : line[..colon];
            string value = colon < 0 ? "" : line[(colon + 1)..];
            if (value.StartsWith(' ')) value = value[1..];
            switch (field)
            {
                case "id": id = value; break;
                case "event": ev = value; break;
                case "data": data = data is null ? new StringBuilder(value) : data.Append('\n').Append(value); break;
            }
        }
    }

    /// <summary>Every frame (comments included) until the response ends.</summary>
    public async Task<List<SseFrame>> ReadToEndAsync(int timeoutMs = 15_000)
    {
        var frames = new List<SseFrame>();
        using var cts = new CancellationTokenSource(timeoutMs);
        try
        {
            while (await ReadAsync(cts.Token) is { } f) frames.Add(f);
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested)
        {
            throw new TimeoutException($"the stream did not end within {timeoutMs} ms; got {frames.Count} frames, last {frames.LastOrDefault()}");
        }
        return frames;
    }

    /// <summary>Frames until <paramref name="until"/> matches one (included).</summary>
    public async Task<List<SseFrame>> ReadUntilAsync(Func<SseFrame, bool> until, int timeoutMs = 15_000)
    {
        var frames = new List<SseFrame>();
        using var cts = new CancellationTokenSource(timeoutMs);
        while (true)
        {
            var f = await ReadAsync(cts.Token).DefaultTimeout(timeoutMs + 1_000)
                ?? throw new InvalidOperationException($"the stream ended before the expected frame; got {frames.Count} frames");
            frames.Add(f);
            if (until(f)) return frames;
        }
    }

    public ValueTask DisposeAsync()
    {
        _reader.Dispose();
        Response.Dispose();
        return ValueTask.CompletedTask;
    }
}

public static class SseFrameExtensions
{
    /// <summary>The AgentEvents among the frames (frames with an id).</summary>
    public static List<AgentEvent> Events(this IEnumerable<SseFrame> frames) =>
        frames.Where(f => f.Id is not null).Select(f => f.AsAgentEvent()).ToList();
}
