using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using RealtimeAgents.Server.Hubs;
using Xunit;

namespace RealtimeAgents.Auth.Tests;

/// <summary>The slow-client cut-off is ours, after the documented SlowClientTimeout, not SignalR's silent one before it.</summary>
public sealed class SlowClientTimingTests
{
    [Theory]
    [InlineData(null)]
    [InlineData("00:00:45")]
    [InlineData("00:02:00")]
    public async Task SignalRsClientTimeout_IsLongerThanSlowClientTimeout(string? slowClientTimeout)
    {
        await using var server = await AuthServer.StartAsync(slowClientTimeout is null ? [] : [$"--RealtimeAgents:Hub:SlowClientTimeout={slowClientTimeout}"]);
        var slow = server.Services.GetRequiredService<IOptions<HubEndpointOptions>>().Value.SlowClientTimeout;
        // What HubConnectionHandler uses: the hub's own setting, else the global one.
        var signalR = server.Services.GetRequiredService<IOptions<HubOptions<AgentHub>>>().Value.ClientTimeoutInterval
            ?? server.Services.GetRequiredService<IOptions<HubOptions>>().Value.ClientTimeoutInterval;
        Assert.Equal(slowClientTimeout is null ? TimeSpan.FromSeconds(30) : TimeSpan.Parse(slowClientTimeout, System.Globalization.CultureInfo.InvariantCulture), slow);
        Assert.True(signalR > slow, $"SignalR closes a silent client after {signalR}, before the slow-client cut-off at {slow}");
    }
}
