using System.Net;
using Microsoft.Extensions.Logging;
using RealtimeAgents.Contracts;
using RealtimeAgents.Testing;
using Xunit;

namespace RealtimeAgents.Auth.Tests;

/// <summary>A token is never written to the log, at any level, wherever the request carried it.</summary>
public sealed class TokenLoggingTests
{
    [Theory]
    [InlineData(LogLevel.Information)]
    [InlineData(LogLevel.Debug)]
    [InlineData(LogLevel.Trace)]
    public async Task TokensInTheQueryString_NeverReachTheLog(LogLevel level)
    {
        var logs = new LogCapture();
        await using var server = await AuthServer.StartWithAsync(b =>
        {
            b.Logging.ClearProviders();
            b.Logging.SetMinimumLevel(level);
            b.Logging.AddFilter("Microsoft.AspNetCore", level); // over appsettings.json's Warning
            b.Logging.AddProvider(logs);
        });
        string token = Tokens.For("logged-" + Guid.NewGuid().ToString("N")[..6]);
        // The hub over a WebSocket carries the token in its query string, as browsers do.
        var client = await server.ConnectAsync(token);
        var task = await client.SubmitAsync(AuthServer.Demo()).DefaultTimeout();
        using var http = server.Http();
        using (var stream = await http.GetAsync($"/tasks/{task.TaskId}/events?access_token={Uri.EscapeDataString(token)}",
                   HttpCompletionOption.ResponseHeadersRead).DefaultTimeout())
        {
            Assert.Equal(HttpStatusCode.OK, stream.StatusCode);
        }
        using (var refused = await http.GetAsync($"/tasks/{task.TaskId}?access_token={Uri.EscapeDataString(token)}&x=1").DefaultTimeout())
        {
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode); // only WebSockets and event streams take it there
        }
        string signature = token[(token.LastIndexOf('.') + 1)..];
        string text = logs.Text;
        Assert.Contains("Request starting", text, StringComparison.Ordinal);
        Assert.DoesNotContain(signature, text, StringComparison.Ordinal);
        Assert.DoesNotContain(token[..40], text, StringComparison.Ordinal);
        Assert.Contains("access_token=redacted", text, StringComparison.Ordinal);
    }
}
