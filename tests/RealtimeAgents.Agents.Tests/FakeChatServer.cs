using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using RealtimeAgents.Testing;

namespace RealtimeAgents.Agents.Tests;

/// <summary>What the fake endpoint answers to one request.</summary>
public sealed class FakeReply
{
    /// <summary>A recording under Recordings/, replayed byte for byte, one SSE event per write and flush.</summary>
    public string? Recording { get; init; }
    /// <summary>A non-200 status with <see cref="Body"/> as JSON.</summary>
    public int Status { get; init; } = 200;
    public string? Body { get; init; }
    public Dictionary<string, string> Headers { get; init; } = [];
    /// <summary>Stop before this event (0 = before the first) until <see cref="Gate"/> opens.</summary>
    public int? HoldBefore { get; init; }
    public TaskCompletionSource Gate { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    /// <summary>Set when the server reached <see cref="HoldBefore"/>.</summary>
    public TaskCompletionSource Holding { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    /// <summary>Set when the client aborted the request (RequestAborted fired).</summary>
    public TaskCompletionSource Aborted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public static FakeReply Replay(string recording, int? holdBefore = null) => new() { Recording = recording, HoldBefore = holdBefore };

    public static FakeReply Error(int status, string body, Dictionary<string, string>? headers = null) =>
        new() { Status = status, Body = body, Headers = headers ?? [] };
}

/// <summary>A request the fake endpoint received.</summary>
public sealed record FakeRequest(JsonElement Body, string? Authorization)
{
    /// <summary>The request's messages.</summary>
    public IReadOnlyList<JsonElement> Messages => [.. Body.GetProperty("messages").EnumerateArray()];

    /// <summary>The messages as (role, text content); null content for an assistant message that only calls tools.</summary>
    public IEnumerable<(string Role, string? Content)> Turns =>
        Messages.Select(m => (m.GetProperty("role").GetString()!,
            m.TryGetProperty("content", out var c) && c.ValueKind == JsonValueKind.String ? c.GetString() : null));
}

/// <summary>
/// An OpenAI-compatible chat-completions endpoint on real Kestrel at 127.0.0.1 with a free port.
/// Each POST /v1/chat/completions takes the next scripted <see cref="FakeReply"/> and records the
/// request body, so a test can check what reached the model.
/// </summary>
public sealed class FakeChatServer : IAsyncDisposable
{
    private static readonly string RecordingsDir = Path.Combine(AppContext.BaseDirectory, "Recordings");
    private readonly ConcurrentQueue<FakeReply> _replies = new();
    private readonly List<FakeRequest> _requests = [];
    private WebApplication? _app;

    public Uri BaseUrl { get; private set; } = null!;

    public IReadOnlyList<FakeRequest> Requests { get { lock (_requests) return [.. _requests]; } }

    public static async Task<FakeChatServer> StartAsync()
    {
        var server = new FakeChatServer();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        var app = builder.Build();
        app.MapPost("/v1/chat/completions", server.HandleAsync);
        await app.StartAsync().DefaultTimeout(20_000);
        string address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        server._app = app;
        server.BaseUrl = new Uri(address.TrimEnd('/') + "/v1");
        return server;
    }

    public FakeReply Enqueue(FakeReply reply)
    {
        _replies.Enqueue(reply);
        return reply;
    }

    /// <summary>The recording split into its SSE events, each with its trailing blank line.</summary>
    public static List<byte[]> Events(string recording)
    {
        byte[] bytes = File.ReadAllBytes(Path.Combine(RecordingsDir, recording));
        var events = new List<byte[]>();
        int start = 0;
        for (int i = 0; i + 1 < bytes.Length; i++)
        {
            if (bytes[i] == '\n' && bytes[i + 1] == '\n')
            {
                events.Add(bytes[start..(i + 2)]);
                start = i + 2;
                i++;
            }
        }
        if (start < bytes.Length) events.Add(bytes[start..]);
        return events;
    }

    private async Task HandleAsync(HttpContext http)
    {
        using var doc = await JsonDocument.ParseAsync(http.Request.Body, cancellationToken: http.RequestAborted);
        lock (_requests) _requests.Add(new FakeRequest(doc.RootElement.Clone(), http.Request.Headers.Authorization.ToString()));
        if (!_replies.TryDequeue(out var reply))
        {
            http.Response.StatusCode = 500;
            await http.Response.WriteAsync("""{"error":{"message":"the test scripted no reply for this request","type":"server_error"}}""");
            return;
        }
        foreach (var (name, value) in reply.Headers) http.Response.Headers[name] = value;
        if (reply.Status != 200)
        {
            http.Response.StatusCode = reply.Status;
            http.Response.ContentType = "application/json";
            await http.Response.WriteAsync(reply.Body ?? "", Encoding.UTF8);
            return;
        }
        http.Response.ContentType = "text/event-stream; charset=utf-8";
        http.Response.Headers.CacheControl = "no-cache";
        await http.Response.StartAsync(http.RequestAborted);
        var events = Events(reply.Recording!);
        try
        {
            for (int i = 0; i < events.Count; i++)
            {
                if (reply.HoldBefore == i)
                {
                    reply.Holding.TrySetResult();
                    await reply.Gate.Task.WaitAsync(http.RequestAborted);
                }
                await http.Response.Body.WriteAsync(events[i], http.RequestAborted);
                await http.Response.Body.FlushAsync(http.RequestAborted);
            }
        }
        catch (OperationCanceledException) when (http.RequestAborted.IsCancellationRequested)
        {
            reply.Aborted.TrySetResult();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is null) return;
        await _app.StopAsync().DefaultTimeout(20_000);
        await _app.DisposeAsync();
    }
}
