using System.Globalization;
using System.Text.Json;
using RealtimeAgents.Client;
using RealtimeAgents.Contracts;

using RealtimeAgents.Testing;

namespace RealtimeAgents.MultiNode.Tests;

/// <summary>
/// The distributed deployment as real processes on 127.0.0.1: one redis-server or a 3-master
/// Redis Cluster, hub nodes
/// (RealtimeAgents.Server in Redis mode, each on its own fixed port so it can come back on the same
/// address) and worker processes. Everything is stopped by PID on dispose.
/// </summary>
public sealed class Cluster : IAsyncDisposable
{
    private readonly Dictionary<string, NodeProcess> _hubs = [];
    private readonly Dictionary<string, int> _hubPorts = [];
    private readonly List<NodeProcess> _workers = [];
    private readonly List<RealtimeAgentsClient> _clients = [];

    private RedisServer? _redis;
    private RedisCluster? _redisCluster;

    /// <summary>The Redis nodes: one, or every node of the cluster.</summary>
    public IReadOnlyList<RedisServer> RedisNodes => _redisCluster?.Nodes ?? (_redis is null ? [] : [_redis]);
    public RedisCluster? RedisCluster => _redisCluster;
    public string RedisConnectionString => _redisCluster?.ConnectionString ?? _redis!.ConnectionString;
    public string Prefix { get; } = RedisServer.UniquePrefix();

    public static async Task<Cluster> StartAsync(int hubs, int workers, bool redisCluster = false, int replicas = 0)
    {
        var c = new Cluster();
        try
        {
            if (redisCluster) c._redisCluster = await RedisCluster.StartAsync(masters: 3, replicasPerMaster: replicas).DefaultTimeout(60_000);
            else c._redis = await RedisServer.StartAsync();
            await Task.WhenAll(Enumerable.Range(0, hubs).Select(i => c.StartHubAsync($"hub-{(char)('a' + i)}")));
            await Task.WhenAll(Enumerable.Range(0, workers).Select(i => c.StartWorkerAsync($"worker-{i + 1}")));
            return c;
        }
        catch
        {
            // The test never gets the cluster to dispose: stop what did start (nodes, Redis).
            await c.DisposeAsync();
            throw;
        }
    }

    private Dictionary<string, string> Environment() => new()
    {
        ["RealtimeAgents__Redis"] = RedisConnectionString,
        ["RealtimeAgents__RedisKeyPrefix"] = Prefix,
        ["RealtimeAgents__Relay__IdleCheckInterval"] = "00:00:01",
        ["RealtimeAgents__Queue__VisibilityTimeout"] = "00:00:03",
        ["Logging__LogLevel__Default"] = "Warning",
        ["Logging__LogLevel__Microsoft.Hosting.Lifetime"] = "Information",
        ["Logging__LogLevel__RealtimeAgents"] = "Information",
    };

    public IReadOnlyList<string> HubNames => [.. _hubPorts.Keys.Order(StringComparer.Ordinal)];

    public Uri HubUrl(string name) =>
        new(string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{_hubPorts[name]}{HubMethods.Path}"));

    /// <summary>Starts (or restarts, on the same port) a hub node.</summary>
    public async Task StartHubAsync(string name)
    {
        bool restart;
        int port;
        lock (_hubPorts) restart = _hubPorts.TryGetValue(name, out port);
        // The first start lets Kestrel pick a free port, so no other process can take it between a
        // probe and the bind; a restart reuses it, so the node keeps its URL.
        var hub = NodeProcess.Start(name, "RealtimeAgents.Server.dll",
            ["--urls", string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{(restart ? port : 0)}")], Environment());
        lock (_hubs) _hubs[name] = hub;
        if (!restart)
        {
            var listening = await hub.WaitForListeningAsync().DefaultTimeout(30_000);
            lock (_hubPorts) _hubPorts[name] = listening.Port;
        }
        await hub.WaitForLogAsync("Application started").DefaultTimeout(30_000);
    }

    public void KillHub(string name)
    {
        NodeProcess hub;
        lock (_hubs) hub = _hubs[name];
        hub.Kill();
    }

    /// <summary>Stops a hub node with SIGTERM; returns how long it took to exit (SIGKILL after the timeout, 10 s by default).</summary>
    public Task<TimeSpan> TerminateHubAsync(string name, TimeSpan? timeout = null)
    {
        NodeProcess hub;
        lock (_hubs) hub = _hubs[name];
        return hub.TerminateAsync(timeout ?? TimeSpan.FromSeconds(10));
    }

    /// <summary>A hub node's process (its log, and its exit code once it has exited).</summary>
    public NodeProcess Hub(string name)
    {
        lock (_hubs) return _hubs[name];
    }

    /// <summary>SIGKILLs a worker process (it gets no chance to hand its tasks back).</summary>
    public void KillWorker(string name)
    {
        lock (_workers) _workers.Single(w => w.Name == name).Kill();
    }

    public async Task StartWorkerAsync(string name)
    {
        var env = Environment();
        env["RealtimeAgents__Worker__ConsumerName"] = name;
        env["Logging__LogLevel__Default"] = "Information";
        var worker = NodeProcess.Start(name, "RealtimeAgents.Worker.dll", [], env);
        lock (_workers) _workers.Add(worker);
        await worker.WaitForLogAsync("takes up to").DefaultTimeout(30_000);
    }

    /// <summary>A client that knows every hub node and starts with the ones named first.</summary>
    public async Task<RealtimeAgentsClient> ConnectAsync(params string[] hubs)
    {
        var urls = hubs.Concat(HubNames.Except(hubs)).Select(HubUrl).ToList();
        var client = await RealtimeAgentsClient.ConnectAsync(urls).DefaultTimeout(15_000);
        lock (_clients) _clients.Add(client);
        return client;
    }

    /// <summary>Drops every hub's Redis subscriber connection, as a network blip would.</summary>
    public async Task KillPubSubConnectionsAsync() =>
        await Task.WhenAll(RedisNodes.Select(n => RedisCluster.CliAsync(n, "CLIENT", "KILL", "TYPE", "pubsub"))).DefaultTimeout();

    public static SubmitTaskRequest Demo(object options, string input = "Plan a trip to Lyon") => new()
    {
        Agent = "demo", Input = input, Options = JsonSerializer.SerializeToElement(options),
    };

    public async ValueTask DisposeAsync()
    {
        foreach (var c in _clients)
        {
            try { await c.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(5)); }
            catch (Exception) { /* a client of a killed node may not close cleanly */ }
        }
        foreach (var h in _hubs.Values) h.Dispose();
        foreach (var w in _workers) w.Dispose();
        if (_redisCluster is not null) await _redisCluster.DisposeAsync().AsTask().DefaultTimeout(30_000);
        if (_redis is not null) await _redis.DisposeAsync().AsTask().DefaultTimeout();
    }
}
