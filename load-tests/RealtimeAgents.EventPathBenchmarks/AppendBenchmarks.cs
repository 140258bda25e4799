using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using RealtimeAgents.Contracts;
using RealtimeAgents.Core;
using RealtimeAgents.Core.Redis;
using RealtimeAgents.Core.Runtime;
using RealtimeAgents.Testing;
using StackExchange.Redis;

namespace RealtimeAgents.EventPathBenchmarks;

/// <summary>
/// The worker's side of one text.delta: the agent context encodes the payload and appends it
/// through the Redis event log (append_event.lua on a private redis-server), as an agent's
/// token does. Allocations are this process's (the multiplexer's included).
/// </summary>
[MemoryDiagnoser]
public class AppendBenchmarks
{
    private RedisServer _server = null!;
    private ConnectionMultiplexer _redis = null!;
    private AgentContext _context = null!;
    private readonly TextData _delta = new("msg_0123456789_1_1", " token");

    [GlobalSetup]
    public void Setup()
    {
        _server = RedisServer.StartAsync().GetAwaiter().GetResult();
        _redis = ConnectionMultiplexer.Connect(_server.ConnectionString);
        var log = new RedisEventLog(_redis, new RedisKeys("bench:"), Options.Create(new EventLogOptions()), NullLogger<RedisEventLog>.Instance);
        var task = new TaskRecord
        {
            TaskId = "tsk_0123456789abcdef", ThreadId = "thr_0123456789abcdef", Agent = "demo", Input = "hello",
            Owner = "bench", Status = "running", CreatedAt = (long)Clock.UnixMs(),
        };
        _context = new AgentContext(log, task, attempt: 1);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _redis.Dispose();
        _server.DisposeAsync().AsTask().GetAwaiter().GetResult();
    }

    /// <summary>One token: encode TextData, run the append script, get seq and id back.</summary>
    [Benchmark]
    public async Task AppendTextDelta() =>
        await _context.AppendAsync(EventKinds.TextDelta, _delta, ContractsJsonContext.Default.TextData);
}
