using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using RealtimeAgents.Client;
using RealtimeAgents.Conformance;
using RealtimeAgents.Contracts;
using RealtimeAgents.Server;
using RealtimeAgents.Testing;
using Xunit;

namespace RealtimeAgents.Agents.Tests;

/// <summary>The demo agent understands what a newcomer types, and its answers end on a full sentence.</summary>
public sealed class DemoAgentTests : IAsyncLifetime
{
    private WebApplication _app = null!;
    private RealtimeAgentsClient _client = null!;

    public async Task InitializeAsync()
    {
        var builder = RealtimeAgentsServer.CreateBuilder(["--urls", "http://127.0.0.1:0", "--environment", "Testing"],
            b => b.Logging.SetMinimumLevel(LogLevel.Warning));
        _app = RealtimeAgentsServer.Build(builder);
        await _app.StartAsync().DefaultTimeout(20_000);
        string address = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        _client = await RealtimeAgentsClient.ConnectAsync(new Uri(new Uri(address), HubMethods.Path)).DefaultTimeout();
    }

    public async Task DisposeAsync()
    {
        if (_client is not null) await _client.DisposeAsync().AsTask().DefaultTimeout();
        await _app.StopAsync().DefaultTimeout(20_000);
        await _app.DisposeAsync().AsTask().DefaultTimeout();
    }

    [Theory]
    [InlineData("Plan a trip to Kyoto", "Kyoto")]
    [InlineData("A weekend in Rome", "Rome")]
    [InlineData("Make it Osaka", "Osaka")]
    [InlineData("make it New York please", "New York")]
    [InlineData("Osaka instead", "Osaka")]
    [InlineData("Actually, let's do Vienna instead.", "Vienna")]
    [InlineData("What about Porto?", "Porto")]
    public void TheDestination_IsReadFromWhatPeopleType(string text, string expected) =>
        Assert.Equal(expected, DemoAgent.Destination(text));

    [Theory]
    [InlineData("Plan a 4-day trip to Kyoto", 4)]
    [InlineData("five days in Rome", 5)]
    [InlineData("2 nights in Porto", 2)]
    [InlineData("Plan a trip to Kyoto", null)]
    [InlineData("a 40-day trip", null)]
    public void ANumberOfDays_IsReadToo(string text, int? expected) => Assert.Equal(expected, DemoAgent.Days(text));

    private async Task<(List<AgentEvent> Events, string Output)> RunAsync(string input, object options)
    {
        var task = await _client.SubmitAsync(new SubmitTaskRequest
        {
            Agent = "demo",
            Input = input,
            Options = JsonSerializer.SerializeToElement(options),
        }).DefaultTimeout();
        var events = await (await _client.SubscribeAsync(task.TaskId).DefaultTimeout()).CollectAsync();
        Assert.Equal(EventKinds.TaskCompleted, events[^1].Kind);
        return (events, events[^1].DataAs<TaskCompletedData>().Output);
    }

    private static object Fast(int tokens, bool markdown = false) =>
        new { tokens, tokenIntervalMs = 0, firstTokenDelayMs = 0, toolCalls = 1, toolDelayMs = 0, reasoning = false, markdown };

    [Fact]
    public async Task AFourDayTrip_GetsFourDays_AndAnEnding()
    {
        var (_, output) = await RunAsync("Plan a 4-day trip to Kyoto", Fast(500));
        Assert.StartsWith("Here is a 4-day plan for Kyoto.", output, StringComparison.Ordinal);
        Assert.Contains("Day 4:", output, StringComparison.Ordinal);
        Assert.DoesNotContain("Day 5:", output, StringComparison.Ordinal);
        Assert.Contains("Enjoy Kyoto!", output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(23)]
    [InlineData(61)]
    public async Task EveryAnswer_EndsOnAFullSentence_InExactlyTheAskedNumberOfTokens(int tokens)
    {
        var (events, output) = await RunAsync("Plan a trip to Lisbon", Fast(tokens));
        Assert.Equal(tokens, events.Count(e => e.Kind == EventKinds.TextDelta));
        Assert.Matches(@"[.!?]$", output);
    }

    [Fact]
    public async Task TheReadmeInjectExample_ChangesCourseToTheCityItNames()
    {
        var task = await _client.SubmitAsync(new SubmitTaskRequest
        {
            Agent = "demo",
            Input = "Plan a trip to Kyoto",
            Options = JsonSerializer.SerializeToElement(new { tokens = 40, tokenIntervalMs = 20, firstTokenDelayMs = 0, toolCalls = 0, reasoning = false }),
        }).DefaultTimeout();
        var sub = await _client.SubscribeAsync(task.TaskId).DefaultTimeout();
        var head = await sub.CollectAsync(until: e => e.Kind == EventKinds.TextDelta);
        var sent = await _client.SendMessageAsync(task.ThreadId, "Make it Osaka", MessagePolicies.Inject).DefaultTimeout();
        Assert.Equal(task.TaskId, sent.TaskId);
        var rest = await sub.CollectAsync();
        string output = rest[^1].DataAs<TaskCompletedData>().Output;
        Assert.Contains("Changing course to Osaka.", output, StringComparison.Ordinal);
        Assert.Contains("Here is a plan for Osaka.", output, StringComparison.Ordinal);

        // After the task ended, the same message starts a new task about Osaka.
        var next = await _client.SendMessageAsync(task.ThreadId, "Make it Osaka", MessagePolicies.Inject).DefaultTimeout();
        Assert.NotEqual(task.TaskId, next.TaskId);
        var events = await (await _client.SubscribeAsync(next.TaskId).DefaultTimeout()).CollectAsync();
        Assert.StartsWith("Here is a plan for Osaka.", events[^1].DataAs<TaskCompletedData>().Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheMarkdownOption_AnswersWithAList_ATable_AndACodeBlock()
    {
        var (events, output) = await RunAsync("Plan a 2-day trip to Porto", Fast(10_000, markdown: true));
        Assert.StartsWith("## 2 days in Porto\n\n", output, StringComparison.Ordinal);
        Assert.Contains("\n- **Day 2**: ", output, StringComparison.Ordinal);
        Assert.Contains("\n| Day | Morning | Evening |\n|---|---|---|\n| 1 |", output, StringComparison.Ordinal);
        Assert.Contains("\n```json\n{ \"destination\": \"Porto\", \"days\": 2 }\n```\n", output, StringComparison.Ordinal);
        Assert.Equal(output, string.Concat(events.Where(e => e.Kind == EventKinds.TextDelta).Select(e => e.Data.GetProperty("delta").GetString())).Trim());
    }

    [Fact]
    public async Task AGivenAnswer_IsStreamedVerbatim()
    {
        const string hostile = "Look: <img src=x onerror=alert(1)> and [a link](javascript:alert(2)).";
        var (_, output) = await RunAsync("anything", new { answer = hostile, tokenIntervalMs = 0, firstTokenDelayMs = 0, toolCalls = 0, reasoning = false });
        Assert.Equal(hostile, output);
    }
}
