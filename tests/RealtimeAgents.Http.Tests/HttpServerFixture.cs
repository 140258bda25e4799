using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using RealtimeAgents.Contracts;
using RealtimeAgents.Server;
using RealtimeAgents.Server.Http;
using RealtimeAgents.Testing;
using Xunit;

namespace RealtimeAgents.Http.Tests;

/// <summary>
/// The real server, embedded mode, on a free loopback port, with a short keep-alive so tests can
/// see it. One per test class; subclasses change the configuration.
/// </summary>
public class HttpServerFixture : IAsyncLifetime
{
    public const int KeepAliveMs = 300;
    private WebApplication? _app;

    public Uri BaseAddress { get; private set; } = null!;
    public HttpClient Http { get; private set; } = null!;
    public IServiceProvider Services => _app!.Services;
    internal HttpStreamMetrics Metrics => Services.GetRequiredService<HttpStreamMetrics>();

    protected virtual IEnumerable<string> Settings =>
    [
        $"--RealtimeAgents:Http:KeepAliveInterval=00:00:00.{KeepAliveMs:000}",
    ];

    public async Task InitializeAsync()
    {
        var builder = RealtimeAgentsServer.CreateBuilder(["--urls", "http://127.0.0.1:0", "--environment", "Testing", .. Settings],
            b => b.Logging.SetMinimumLevel(LogLevel.Warning));
        _app = RealtimeAgentsServer.Build(builder);
        await _app.StartAsync().DefaultTimeout(20_000);
        BaseAddress = new Uri(_app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        Http = NewClient();
    }

    /// <summary>
    /// A client of its own (its own connections), for tests that drop connections. A response
    /// disposed before its end closes the connection at once: by default the handler would first
    /// try to drain it for reuse, and an event stream never drains.
    /// </summary>
    public HttpClient NewClient() =>
        new(new SocketsHttpHandler { MaxResponseDrainSize = 0 }) { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(30) };

    public async Task DisposeAsync()
    {
        Http?.Dispose();
        if (_app is not null)
        {
            await _app.StopAsync().DefaultTimeout(20_000);
            await _app.DisposeAsync().AsTask().DefaultTimeout();
        }
    }

    public static object DemoOptions(int tokens = 20, int tokenIntervalMs = 5, int firstTokenDelayMs = 0, int toolCalls = 2,
        int toolDelayMs = 10, bool reasoning = true, int? failAfter = null) =>
        failAfter is null
            ? new { tokens, tokenIntervalMs, firstTokenDelayMs, toolCalls, toolDelayMs, reasoning }
            : new { tokens, tokenIntervalMs, firstTokenDelayMs, toolCalls, toolDelayMs, reasoning, failAfter };

    public static SubmitTaskRequest Demo(object? options = null, string input = "Plan a weekend trip to Porto") => new()
    {
        Agent = "demo",
        Input = input,
        Options = JsonSerializer.SerializeToElement(options ?? DemoOptions()),
    };

    /// <summary>POST /tasks; asserts 201.</summary>
    public async Task<TaskCreatedResponse> SubmitAsync(SubmitTaskRequest request)
    {
        using var response = await Http.PostAsync("/tasks", Json(request)).DefaultTimeout();
        Assert.Equal(System.Net.HttpStatusCode.Created, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<TaskCreatedResponse>().DefaultTimeout())!;
    }

    public static StringContent Json<T>(T value) =>
        new(JsonSerializer.Serialize(value, JsonOptions), Encoding.UTF8, "application/json");

    public static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
    };

    /// <summary>Opens GET /tasks/{id}/events (optionally with Last-Event-ID) and returns the reader once headers arrived.</summary>
    public async Task<SseReader> OpenEventsAsync(string taskId, string? lastEventId = null, string? cursorQuery = null, HttpClient? client = null)
    {
        string url = $"/tasks/{taskId}/events" + (cursorQuery is null ? "" : "?cursor=" + Uri.EscapeDataString(cursorQuery));
        var request = new HttpRequestMessage(HttpMethod.Get, url);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        if (lastEventId is not null) request.Headers.Add("Last-Event-ID", lastEventId);
        var response = await (client ?? Http).SendAsync(request, HttpCompletionOption.ResponseHeadersRead).DefaultTimeout();
        return new SseReader(response);
    }

    /// <summary>Waits until the server has this many open streams (the count falls only after the relay subscription was disposed).</summary>
    public async Task WaitForActiveStreamsAsync(int expected, int timeoutMs = 5_000)
    {
        var deadline = DateTime.UtcNow.AddMilliseconds(timeoutMs);
        while (Metrics.ActiveStreams != expected)
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"{Metrics.ActiveStreams} event streams open, expected {expected}");
            await Task.Delay(10);
        }
    }
}

/// <summary>A server whose event log keeps only the last few events of a task.</summary>
public sealed class TinyLogServerFixture : HttpServerFixture
{
    public const int MaxLength = 5;

    protected override IEnumerable<string> Settings => [.. base.Settings, $"--RealtimeAgents:EventLog:MaxLength={MaxLength}"];
}

/// <summary>A server that keeps few events per task and buffers few live events per reader, so a stalled reader falls off the log.</summary>
public sealed class SmallRetentionServerFixture : HttpServerFixture
{
    protected override IEnumerable<string> Settings =>
        [.. base.Settings, "--RealtimeAgents:EventLog:MaxLength=1000", "--RealtimeAgents:Relay:LiveBufferCapacity=16"];
}
