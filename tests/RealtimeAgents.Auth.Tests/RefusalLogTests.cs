using System.Diagnostics;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using RealtimeAgents.Contracts;
using RealtimeAgents.Server.Hubs;
using RealtimeAgents.Testing;
using Xunit;
using Xunit.Abstractions;

namespace RealtimeAgents.Auth.Tests;

/// <summary>Refusals are expected outcomes: a burst of them cannot flood the log or forge lines in it.</summary>
public sealed class RefusalLogTests(ITestOutputHelper output)
{
    private const int Calls = 2000;
    private const long MaxLogBytes = 16 * 1024;

    [Fact]
    public async Task ABurstOfRefusals_LogsAFewShortLines_WithNoStackTraceAndNoForgedLine()
    {
        var logs = new LogCapture();
        var raw = new RawLogCapture();
        await using var server = await AuthServer.StartWithAsync(b =>
        {
            // Our lines at their most talkative (Debug); the framework at its usual Information.
            b.Logging.SetMinimumLevel(LogLevel.Information);
            b.Logging.AddFilter("RealtimeAgents", LogLevel.Debug);
            b.Logging.AddProvider(logs);
            // What SignalR itself would log per failed invocation, measured apart for the report.
            b.Logging.AddProvider(raw);
            b.Logging.AddFilter<RawLogCapture>(ErrorFilter.DispatcherCategory, LogLevel.Information);
        });
        var client = await server.ConnectAsync(Tokens.For("flooder"));
        var thread = await client.SubmitAsync(AuthServer.Demo()).DefaultTimeout();
        long before = logs.Bytes();
        var clock = Stopwatch.StartNew();
        int refused = 0;
        for (int i = 0; i < Calls && clock.Elapsed < TimeSpan.FromSeconds(30); i++)
        {
            try
            {
                if (i % 2 == 0)
                {
                    await client.Connection.InvokeAsync<SubmitTaskResult>(HubMethods.SubmitTask,
                        new SubmitTaskRequest { Agent = "nope\nFORGED: user admin logged in\r\n", Input = "x" }).DefaultTimeout();
                }
                else
                {
                    await client.Connection.InvokeAsync<SendMessageResult>(HubMethods.SendMessage, thread.ThreadId, "hi",
                        "bogus\nFORGED: policy line\u2028").DefaultTimeout();
                }
            }
            catch (HubException)
            {
                refused++;
            }
        }
        long ours = logs.Bytes() - before;
        long signalR = raw.Bytes(ErrorFilter.DispatcherCategory);
        output.WriteLine($"{refused} refusals in {clock.Elapsed.TotalSeconds:F1} s: our log grew {ours} bytes ({(double)ours / refused:F1} per refusal); " +
            $"SignalR's per-invocation Error lines (now off) would have added {signalR} bytes ({(double)signalR / refused:F1} per refusal).");
        Assert.True(refused >= 200, $"only {refused} refusals");
        Assert.True(ours < MaxLogBytes, $"the log grew {ours} bytes for {refused} refusals");
        string text = logs.Text;
        Assert.DoesNotContain("   at ", text, StringComparison.Ordinal);
        Assert.DoesNotContain("\nFORGED", text, StringComparison.Ordinal);
        Assert.DoesNotContain("\u2028", text, StringComparison.Ordinal);
        Assert.DoesNotContain(logs.Entries, e => e.Level >= LogLevel.Error);
        Assert.Contains("nope\\nFORGED", text, StringComparison.Ordinal); // logged, escaped
        Assert.Contains("counted, not logged", text, StringComparison.Ordinal);
    }
}
