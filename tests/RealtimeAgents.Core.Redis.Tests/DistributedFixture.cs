using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using RealtimeAgents.Client;
using RealtimeAgents.Contracts;
using RealtimeAgents.Server;
using RealtimeAgents.Testing;

namespace RealtimeAgents.Core.Redis.Tests;

/// <summary>
/// The distributed topology from real parts: a redis-server, a hub (this process, Redis mode, no
/// in-process worker) and worker processes started from the Worker's build output, each stopped
/// by its PID.
/// </summary>
public sealed class Distributed : IAsyncDisposable
{
    private readonly List<NodeProcess> _workers = [];
    private readonly List<RealtimeAgentsClient> _clients = [];
    private WebApplication? _hub;

    public RedisServer Redis { get; private set; } = null!;
    public string Prefix { get; } = RedisServer.UniquePrefix();
    public Uri HubUrl { get; private set; } = null!;
    public IReadOnlyList<NodeProcess> Workers => _workers;

    public static async Task<Distributed> StartAsync(bool appendOnly = false)
    {
        var d = new Distributed { Redis = await RedisServer.StartAsync(new RedisServerOptions { AppendOnly = appendOnly }) };
        var builder = RealtimeAgentsServer.CreateBuilder(
        [
            "--urls", "http://127.0.0.1:0", "--environment", "Testing",
            "--RealtimeAgents:Redis", d.Redis.ConnectionString,
            "--RealtimeAgents:RedisKeyPrefix", d.Prefix,
            "--RealtimeAgents:Relay:IdleCheckInterval", "00:00:01",
        ], b => b.Logging.SetMinimumLevel(LogLevel.Warning));
        d._hub = RealtimeAgentsServer.Build(builder);
        await d._hub.StartAsync().DefaultTimeout(20_000);
        string address = d._hub.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        d.HubUrl = new Uri(new Uri(address), HubMethods.Path);
        return d;
    }

    public T Get<T>() where T : notnull => _hub!.Services.GetRequiredService<T>();

    /// <summary>Starts a worker process named <paramref name="name"/> (its queue consumer name) and waits until it is ready.</summary>
    public async Task<NodeProcess> StartWorkerAsync(string name, TimeSpan? visibility = null)
    {
        var worker = NodeProcess.Start(name, "RealtimeAgents.Worker.dll", [], new Dictionary<string, string>
        {
            ["RealtimeAgents__Redis"] = Redis.ConnectionString,
            ["RealtimeAgents__RedisKeyPrefix"] = Prefix,
            ["RealtimeAgents__Worker__ConsumerName"] = name,
            ["RealtimeAgents__Queue__VisibilityTimeout"] = (visibility ?? TimeSpan.FromSeconds(2)).ToString("c", CultureInfo.InvariantCulture),
            ["Logging__LogLevel__Default"] = "Information",
        });
        _workers.Add(worker);
        await worker.WaitForLogAsync("takes up to").DefaultTimeout(20_000);
        return worker;
    }

    public async Task<RealtimeAgentsClient> ConnectAsync()
    {
        var client = await RealtimeAgentsClient.ConnectAsync(HubUrl).DefaultTimeout();
        _clients.Add(client);
        return client;
    }

    public async ValueTask DisposeAsync()
    {
        // Processes first and unconditionally: a failing step below must not leak a server.
        try
        {
            foreach (var w in _workers) w.Dispose();
            foreach (var c in _clients) await c.DisposeAsync().AsTask().DefaultTimeout();
            if (_hub is not null)
            {
                await _hub.StopAsync().DefaultTimeout(20_000);
                await _hub.DisposeAsync().AsTask().DefaultTimeout();
            }
        }
        finally
        {
            await Redis.DisposeAsync().AsTask().DefaultTimeout();
        }
    }
}
