using System.Diagnostics;
using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using RealtimeAgents.Client;
using RealtimeAgents.Conformance;
using RealtimeAgents.Contracts;
using RealtimeAgents.Server;
using RealtimeAgents.Testing;
using StackExchange.Redis;
using Xunit;

namespace RealtimeAgents.Core.Redis.Tests;

/// <summary>
/// Redis over TLS: a redis-server with a tls-port and a certificate signed by a CA this test makes
/// with openssl; the product is pointed at the TLS port only (ssl=true) and trusts the CA through
/// RealtimeAgents:RedisTlsCaFile. A plain-text client cannot talk to a TLS port, so a task that
/// runs to its end ran over TLS.
/// </summary>
public sealed class TlsTests
{
    [Fact]
    public async Task TheProductRunsATaskEndToEnd_OverATlsConnectionToRedis()
    {
        string dir = Path.Combine(Path.GetTempPath(), "ra-tls-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        try
        {
            await MakeCertificatesAsync(dir);
            int tlsPort = RedisServer.FreePort();
            await using var redis = await RedisServer.StartAsync(new RedisServerOptions
            {
                ExtraArgs =
                [
                    "--tls-port", tlsPort.ToString(CultureInfo.InvariantCulture),
                    "--tls-cert-file", Path.Combine(dir, "server.crt"),
                    "--tls-key-file", Path.Combine(dir, "server.key"),
                    "--tls-ca-cert-file", Path.Combine(dir, "ca.crt"),
                    "--tls-auth-clients", "no",
                ],
            });
            string tls = $"127.0.0.1:{tlsPort},ssl=true,sslHost=localhost";
            var builder = RealtimeAgentsServer.CreateBuilder(
            [
                "--urls", "http://127.0.0.1:0", "--environment", "Testing",
                "--RealtimeAgents:Redis", tls,
                "--RealtimeAgents:RedisTlsCaFile", Path.Combine(dir, "ca.crt"),
                "--RealtimeAgents:RedisKeyPrefix", RedisServer.UniquePrefix(),
                "--RealtimeAgents:Worker:InProcess", "true",
            ], b => b.Logging.SetMinimumLevel(LogLevel.Warning));
            await using var hub = RealtimeAgentsServer.Build(builder);
            await hub.StartAsync().DefaultTimeout(20_000);
            var multiplexer = hub.Services.GetRequiredService<IConnectionMultiplexer>();
            Assert.True(multiplexer.IsConnected);
            Assert.All(multiplexer.GetEndPoints(), e => Assert.EndsWith(":" + tlsPort.ToString(CultureInfo.InvariantCulture), e.ToString(), StringComparison.Ordinal));

            string address = hub.Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
            await using var client = await RealtimeAgentsClient.ConnectAsync(new Uri(new Uri(address), HubMethods.Path)).DefaultTimeout();
            var task = await client.SubmitAsync(new SubmitTaskRequest
            {
                Agent = "demo", Input = "Plan a trip to Porto",
                Options = System.Text.Json.JsonSerializer.SerializeToElement(new { tokens = 10, tokenIntervalMs = 0, firstTokenDelayMs = 0 }),
            }).DefaultTimeout();
            var events = await (await client.SubscribeAsync(task.TaskId).DefaultTimeout()).CollectAsync();
            StreamAssert.CompleteTask(events);
            Assert.Equal(EventKinds.TaskCompleted, events[^1].Kind);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    // A CA and a server certificate for localhost / 127.0.0.1 it signed.
    private static async Task MakeCertificatesAsync(string dir)
    {
        await File.WriteAllTextAsync(Path.Combine(dir, "ext.cnf"), "subjectAltName=DNS:localhost,IP:127.0.0.1\n");
        await OpenSslAsync(dir, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=realtime-agents-test-ca");
        await OpenSslAsync(dir, "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost");
        await OpenSslAsync(dir, "x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
            "-out", "server.crt", "-days", "2", "-extfile", "ext.cnf");
    }

    private static async Task OpenSslAsync(string dir, params string[] args)
    {
        var start = new ProcessStartInfo("openssl") { WorkingDirectory = dir, UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in args) start.ArgumentList.Add(a);
        using var process = Process.Start(start) ?? throw new InvalidOperationException("openssl did not start");
        var errors = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().DefaultTimeout(30_000);
        Assert.True(process.ExitCode == 0, $"openssl {string.Join(' ', args)}: {await errors}");
    }
}
