using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using RealtimeAgents.Client;
using RealtimeAgents.Contracts;
using RealtimeAgents.Server;
using RealtimeAgents.Testing;
using Xunit;

namespace RealtimeAgents.Server.Tests;

/// <summary>The real server, embedded mode, on a free loopback port; one per test class.</summary>
public class ServerFixture : IAsyncLifetime
{
    private readonly List<RealtimeAgentsClient> _clients = [];
    private WebApplication? _app;

    public Uri HubUrl { get; private set; } = null!;
    public IServiceProvider Services => _app!.Services;

    public async Task InitializeAsync()
    {
        var builder = RealtimeAgentsServer.CreateBuilder(["--urls", "http://127.0.0.1:0", "--environment", "Testing", .. ExtraArgs], b =>
        {
            b.Logging.SetMinimumLevel(LogLevel.Warning);
            Configure(b);
        });
        _app = RealtimeAgentsServer.Build(builder);
        await _app.StartAsync().DefaultTimeout(20_000);
        string address = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        HubUrl = new Uri(new Uri(address), HubMethods.Path);
    }

    /// <summary>Services for a derived fixture.</summary>
    protected virtual void Configure(WebApplicationBuilder builder)
    {
    }

    /// <summary>Configuration for a derived fixture, as command-line pairs ("--RealtimeAgents:Hub:…", value).</summary>
    protected virtual IEnumerable<string> ExtraArgs => [];

    /// <summary>Whether <see cref="ConnectAsync"/> speaks MessagePack (a test class runs once per protocol).</summary>
    public virtual bool MessagePack => false;

    public async Task<RealtimeAgentsClient> ConnectAsync(RealtimeAgentsClientOptions? options = null)
    {
        options ??= new RealtimeAgentsClientOptions { UseMessagePack = MessagePack };
        var client = await RealtimeAgentsClient.ConnectAsync(HubUrl, options).DefaultTimeout();
        lock (_clients) _clients.Add(client);
        return client;
    }

    public T Get<T>() where T : notnull => Services.GetRequiredService<T>();

    public async Task DisposeAsync()
    {
        foreach (var c in _clients) await c.DisposeAsync().AsTask().DefaultTimeout();
        if (_app is not null)
        {
            await _app.StopAsync().DefaultTimeout(20_000);
            await _app.DisposeAsync().AsTask().DefaultTimeout();
        }
    }

    public static SubmitTaskRequest Demo(object? options = null, string input = "Plan a weekend trip to Porto") => new()
    {
        Agent = "demo",
        Input = input,
        Options = JsonSerializer.SerializeToElement(options ?? new { tokens = 20, tokenIntervalMs = 5, firstTokenDelayMs = 0, toolDelayMs = 10 }),
    };
}

/// <summary>The same server; its clients speak the MessagePack hub protocol.</summary>
public sealed class MessagePackServerFixture : ServerFixture
{
    public override bool MessagePack => true;
}
