using System.Diagnostics;
using System.Globalization;
using System.Net;
using StackExchange.Redis;

namespace RealtimeAgents.Testing;

/// <summary>
/// A real local Redis Cluster: <paramref name="masters"/> × (1 + replicas) redis-server processes
/// with <c>--cluster-enabled yes</c> on free 127.0.0.1 ports, joined by
/// <c>redis-cli --cluster create</c>. Each node is a <see cref="RedisServer"/>, stopped by PID on
/// dispose. Cheap (a few processes), so a test class starts one in a fixture.
/// </summary>
public sealed class RedisCluster : IAsyncDisposable
{
    private readonly List<RedisServer> _nodes;

    private RedisCluster(List<RedisServer> nodes) => _nodes = nodes;

    /// <summary>Every node, masters first as created (replicas may be promoted later).</summary>
    public IReadOnlyList<RedisServer> Nodes => _nodes;

    /// <summary>The seed endpoints of every node: StackExchange.Redis discovers the topology from them.</summary>
    public string ConnectionString => string.Join(",", _nodes.Select(n => n.ConnectionString));

    public static async Task<RedisCluster> StartAsync(int masters = 3, int replicasPerMaster = 0, int nodeTimeoutMs = 1000)
    {
        var nodes = new List<RedisServer>();
        var cluster = new RedisCluster(nodes);
        try
        {
            var started = await Task.WhenAll(Enumerable.Range(0, masters * (1 + replicasPerMaster)).Select(_ => StartNodeAsync(nodeTimeoutMs)))
                .ConfigureAwait(false);
            nodes.AddRange(started);
            var create = new ProcessStartInfo("redis-cli") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
            create.ArgumentList.Add("--cluster");
            create.ArgumentList.Add("create");
            foreach (var n in nodes) create.ArgumentList.Add(n.ConnectionString);
            create.ArgumentList.Add("--cluster-replicas");
            create.ArgumentList.Add(replicasPerMaster.ToString(CultureInfo.InvariantCulture));
            create.ArgumentList.Add("--cluster-yes");
            using (var process = Process.Start(create) ?? throw new InvalidOperationException("redis-cli did not start"))
            {
                var output = process.StandardOutput.ReadToEndAsync();
                var errors = process.StandardError.ReadToEndAsync();
                await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60)).ConfigureAwait(false);
                if (process.ExitCode != 0)
                {
                    throw new InvalidOperationException($"redis-cli --cluster create failed: {await output.ConfigureAwait(false)} {await errors.ConfigureAwait(false)}");
                }
            }
            await cluster.WaitUntilHealthyAsync(TimeSpan.FromSeconds(30)).ConfigureAwait(false);
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    // The cluster bus port is another free port, probed like the node's own: another process may
    // take it between the probe and the bind, so a node that cannot bind it starts again with a new one.
    private static async Task<RedisServer> StartNodeAsync(int nodeTimeoutMs)
    {
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                return await RedisServer.StartAsync(new RedisServerOptions
                {
                    ExtraArgs =
                    [
                        "--cluster-enabled", "yes",
                        "--cluster-config-file", "nodes.conf",
                        // The bus port defaults to port + 10000, past 65535 for a high free port.
                        "--cluster-port", RedisServer.FreePort().ToString(CultureInfo.InvariantCulture),
                        "--cluster-node-timeout", nodeTimeoutMs.ToString(CultureInfo.InvariantCulture),
                        // A replica may take over however far behind it is: the failover test wants the
                        // promotion, and the product must cope with what the replica lacks.
                        "--cluster-replica-validity-factor", "0",
                    ],
                }).ConfigureAwait(false);
            }
            catch (InvalidOperationException) when (attempt < 3)
            {
            }
        }
    }

    /// <summary>Waits until every running node says <c>cluster_state:ok</c> and agrees on every slot.</summary>
    public async Task WaitUntilHealthyAsync(TimeSpan timeout)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            bool ok = true;
            foreach (var node in _nodes.Where(n => n.Pid != 0))
            {
                string info = await CliAsync(node, "CLUSTER", "INFO").ConfigureAwait(false);
                ok &= info.Contains("cluster_state:ok", StringComparison.Ordinal)
                    && info.Contains("cluster_slots_ok:16384", StringComparison.Ordinal);
            }
            if (ok) return;
            if (deadline.Elapsed > timeout) throw new TimeoutException("the Redis Cluster did not become healthy");
            await Task.Delay(100).ConfigureAwait(false);
        }
    }

    /// <summary>The node that is master of <paramref name="key"/>'s slot now.</summary>
    public RedisServer MasterOf(IConnectionMultiplexer multiplexer, RedisKey key)
    {
        ArgumentNullException.ThrowIfNull(multiplexer);
        var endpoint = multiplexer.GetDatabase().IdentifyEndpoint(key) as IPEndPoint
            ?? throw new InvalidOperationException($"no endpoint for {key}");
        return _nodes.Single(n => n.Port == endpoint.Port);
    }

    /// <summary>Runs redis-cli against one node and returns what it printed.</summary>
    public static async Task<string> CliAsync(RedisServer node, params string[] args)
    {
        ArgumentNullException.ThrowIfNull(node);
        var start = new ProcessStartInfo("redis-cli") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add("-p");
        start.ArgumentList.Add(node.Port.ToString(CultureInfo.InvariantCulture));
        foreach (var a in args) start.ArgumentList.Add(a);
        using var process = Process.Start(start) ?? throw new InvalidOperationException("redis-cli did not start");
        var output = process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        return await output.ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        await Task.WhenAll(_nodes.Select(n => n.DisposeAsync().AsTask())).ConfigureAwait(false);
    }
}

/// <summary>One 3-master Redis Cluster shared by the tests of a class (they use unique key prefixes).</summary>
public sealed class RedisClusterFixture : Xunit.IAsyncLifetime
{
    private RedisCluster? _cluster;

    public RedisCluster Cluster => _cluster ?? throw new InvalidOperationException("The fixture has not been initialized.");

    public async Task InitializeAsync() => _cluster = await RedisCluster.StartAsync().ConfigureAwait(false);

    public async Task DisposeAsync()
    {
        if (_cluster is not null) await _cluster.DisposeAsync().ConfigureAwait(false);
    }
}
