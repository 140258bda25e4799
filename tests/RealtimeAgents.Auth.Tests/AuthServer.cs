using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using RealtimeAgents.Client;
using RealtimeAgents.Contracts;
using RealtimeAgents.Server;
using RealtimeAgents.Testing;
using Xunit;

namespace RealtimeAgents.Auth.Tests;

/// <summary>The real server with authentication on, on a free loopback port, plus clients that carry tokens.</summary>
public sealed partial class AuthServer : IAsyncDisposable
{
    public const string ApiKey = "billing-service key: 0123456789abcdef0123456789";
    public const string ApiKeyUser = "billing";

    private readonly List<IAsyncDisposable> _owned = [];
    private WebApplication _app = null!;

    public Uri BaseAddress { get; private set; } = null!;
    public Uri HubUrl => new(BaseAddress, HubMethods.Path);
    public IServiceProvider Services => _app.Services;

    public static readonly string[] AuthSettings =
    [
        $"--RealtimeAgents:Auth:SigningKey={Tokens.SigningKey}",
        "--RealtimeAgents:Auth:ClockSkew=00:00:00",
        $"--RealtimeAgents:Auth:ApiKeys:0:Key={ApiKey}",
        $"--RealtimeAgents:Auth:ApiKeys:0:UserId={ApiKeyUser}",
        "--RealtimeAgents:Auth:ApiKeys:0:Groups:0=finance",
    ];

    /// <summary>Starts a server with authentication and the extra settings ("--Key=value").</summary>
    public static Task<AuthServer> StartAsync(params string[] settings) => StartWithAsync(null, settings);

    /// <summary>Starts a server as <see cref="StartAsync"/> does; <paramref name="configure"/> runs last (logging, say).</summary>
    public static async Task<AuthServer> StartWithAsync(Action<WebApplicationBuilder>? configure, params string[] settings)
    {
        var server = new AuthServer();
        var builder = RealtimeAgentsServer.CreateBuilder(["--urls", "http://127.0.0.1:0", "--environment", "Testing", .. AuthSettings, .. settings],
            b =>
            {
                b.Logging.SetMinimumLevel(LogLevel.Warning);
                configure?.Invoke(b);
            });
        server._app = RealtimeAgentsServer.Build(builder);
        await server._app.StartAsync().DefaultTimeout(20_000);
        server.BaseAddress = new Uri(server._app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        return server;
    }

    /// <summary>A hub client authenticated as <paramref name="token"/>'s user.</summary>
    public async Task<RealtimeAgentsClient> ConnectAsync(string token)
    {
        var client = await RealtimeAgentsClient.ConnectAsync(HubUrl, new RealtimeAgentsClientOptions
        {
            AccessTokenProvider = () => Task.FromResult<string?>(token),
            AutomaticReconnect = false,
        }).DefaultTimeout();
        lock (_owned) _owned.Add(client);
        return client;
    }

    /// <summary>An HTTP client sending <paramref name="token"/> as a bearer token (none when null).</summary>
    public HttpClient Http(string? token = null, string? apiKey = null)
    {
        var http = new HttpClient(new SocketsHttpHandler { MaxResponseDrainSize = 0 }) { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        if (token is not null) http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        if (apiKey is not null) http.DefaultRequestHeaders.Add("X-Api-Key", apiKey);
        return http;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var c in _owned) await c.DisposeAsync().AsTask().DefaultTimeout();
        await _app.StopAsync().DefaultTimeout(20_000);
        await _app.DisposeAsync().AsTask().DefaultTimeout();
    }

    public static SubmitTaskRequest Demo(int tokens = 3, int tokenIntervalMs = 5, IReadOnlyList<TaskShare>? share = null, string input = "Plan a trip to Porto",
        string? threadId = null) => new()
    {
        Agent = "demo",
        Input = input,
        ThreadId = threadId,
        Share = share,
        Options = JsonSerializer.SerializeToElement(new { tokens, tokenIntervalMs, firstTokenDelayMs = 0, toolCalls = 0, toolDelayMs = 0, reasoning = false }),
    };

    /// <summary>A task that runs for about a minute unless interrupted.</summary>
    public static SubmitTaskRequest Slow(IReadOnlyList<TaskShare>? share = null) => Demo(tokens: 3000, tokenIntervalMs: 20, share: share);

    public static StringContent Json<T>(T value) =>
        new(JsonSerializer.Serialize(value, JsonOptions), Encoding.UTF8, "application/json");

    public static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
    };

    /// <summary>The "code: message" a hub method refused with.</summary>
    public static async Task<string> HubErrorAsync(Func<Task> call)
    {
        var ex = await Assert.ThrowsAsync<HubException>(call).DefaultTimeout();
        var match = HubErrorPattern().Match(ex.Message);
        Assert.True(match.Success, ex.Message);
        return match.Groups[1].Value;
    }

    /// <summary>Status and Problem Details of a refused request.</summary>
    public static async Task<(int Status, JsonElement Problem)> ProblemAsync(HttpResponseMessage response)
    {
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>().DefaultTimeout();
        return ((int)response.StatusCode, problem);
    }

    [GeneratedRegex(@"HubException: (.*)$", RegexOptions.Singleline)]
    private static partial Regex HubErrorPattern();
}
