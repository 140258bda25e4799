using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using RealtimeAgents.Contracts;
using System.Net.Sockets;
using System.Text;
using StackExchange.Redis;
using RealtimeAgents.Testing;
using Xunit;

namespace RealtimeAgents.Core.Redis.Tests;

/// <summary>
/// A restarted Redis answers every data command with <c>-LOADING</c> until it has read its
/// dataset back. For a worker that is part of the same short outage as the restart itself: its
/// writes must wait, not end the task as failed.
/// </summary>
public sealed class RedisLoadingTests
{
    [Fact]
    public async Task AnAppendWhileARestartedRedisLoadsItsData_WaitsForTheData_InsteadOfFailing()
    {
        // Enough keys that reading them back after the restart takes a second or so (values of one
        // byte keep the AOF around 60 MB).
        await using var server = await RedisServer.StartAsync(new RedisServerOptions { AppendOnly = true, StartTimeout = TimeSpan.FromSeconds(60) })
            .DefaultTimeout(70_000);
        var fastReconnect = new ConfigurationOptions
        {
            EndPoints = { server.ConnectionString },
            AllowAdmin = true,
            AbortOnConnectFail = false,
            ReconnectRetryPolicy = new LinearRetry(50),
            // Filling Redis with millions of keys takes seconds, more on a loaded machine.
            SyncTimeout = 60_000,
            AsyncTimeout = 60_000,
        };
        await using var client = await ConnectionMultiplexer.ConnectAsync(fastReconnect).DefaultTimeout();
        var db = client.GetDatabase();
        var log = new RedisEventLog(client, new RedisKeys(RedisServer.UniquePrefix()),
            Options.Create(new EventLogOptions()), NullLogger<RedisEventLog>.Instance);
        string taskId = "t" + Guid.NewGuid().ToString("N");
        var data = JsonSerializer.SerializeToElement(new { phase = "x" });
        await log.AppendAsync(taskId, "th", EventKinds.Status, data, 1).AsTask().DefaultTimeout();

        await db.ExecuteAsync("DEBUG", "POPULATE", "3000000", "filler", "1").DefaultTimeout(60_000);
        await db.ExecuteAsync("BGREWRITEAOF").DefaultTimeout();
        await Eventually.TrueAsync(async () =>
        {
            string info = (string)(await db.ExecuteAsync("INFO", "persistence").DefaultTimeout())!;
            return info.Contains("aof_rewrite_in_progress:0", StringComparison.Ordinal)
                && info.Contains("aof_rewrite_scheduled:0", StringComparison.Ordinal);
        }, 60_000, "the AOF rewrite did not finish");

        await server.StopAsync().DefaultTimeout(20_000);
        Task starting = server.StartAgainAsync();
        try
        {
            // Wait until the restarted server refuses commands because it is loading.
            bool loading = false;
            await Eventually.TrueAsync(async () =>
            {
                string? reply = await RawPingAsync(server.Port);
                if (reply is null) return false; // not listening yet
                loading = reply.StartsWith("-LOADING", StringComparison.Ordinal);
                return true; // loaded already (+PONG): the test below would prove nothing
            }, 30_000, "the restarted server did not answer");
            Assert.True(loading, "Redis loaded its data before the test could write: populate more keys");

            var appended = await log.AppendAsync(taskId, "th", EventKinds.Status, data, 1).AsTask().DefaultTimeout(60_000);
            Assert.Equal(2, appended.Seq);
        }
        finally
        {
            await starting.DefaultTimeout(70_000);
        }

        var stored = await log.ReadAsync(taskId, StreamId.Zero, 10).AsTask().DefaultTimeout();
        Assert.Equal([1L, 2L], stored.Select(e => e.Seq));
    }

    // The first line a plain PING gets back ("+PONG", "-LOADING …"), or null when nobody listens.
    private static async Task<string?> RawPingAsync(int port)
    {
        try
        {
            using var tcp = new TcpClient();
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            await tcp.ConnectAsync("127.0.0.1", port, cts.Token);
            var stream = tcp.GetStream();
            await stream.WriteAsync("PING\r\n"u8.ToArray(), cts.Token);
            var buffer = new byte[256];
            int n = await stream.ReadAsync(buffer, cts.Token);
            return n == 0 ? null : Encoding.ASCII.GetString(buffer, 0, n);
        }
        catch (Exception ex) when (ex is SocketException or IOException or OperationCanceledException)
        {
            return null;
        }
    }
}
