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

/// <summary>The shipped server, configured the way a user would, with the .NET SDK as its client.</summary>
public sealed class LlmHubTests
{
    /// <summary>The server on a free loopback port and one connected client; disposing stops both, client first.</summary>
    private sealed class Hub : IAsyncDisposable
    {
        private WebApplication _app = null!;

        public RealtimeAgentsClient Client { get; private set; } = null!;

        public static async Task<Hub> StartAsync(params string[] settings)
        {
            var builder = RealtimeAgentsServer.CreateBuilder(["--urls", "http://127.0.0.1:0", "--environment", "Testing", .. settings],
                b => b.Logging.SetMinimumLevel(LogLevel.Warning));
            var hub = new Hub { _app = RealtimeAgentsServer.Build(builder) };
            await hub._app.StartAsync().DefaultTimeout(20_000);
            string address = hub._app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
            hub.Client = await RealtimeAgentsClient.ConnectAsync(new Uri(new Uri(address), HubMethods.Path)).DefaultTimeout();
            return hub;
        }

        public async ValueTask DisposeAsync()
        {
            if (Client is not null) await Client.DisposeAsync().AsTask().DefaultTimeout();
            await _app.StopAsync().DefaultTimeout(20_000);
            await _app.DisposeAsync().AsTask().DefaultTimeout();
        }
    }

    private static async Task<List<AgentEvent>> CollectAsync(TaskSubscription sub)
    {
        var list = new List<AgentEvent>();
        using var cts = new CancellationTokenSource(15_000);
        try
        {
            await foreach (var e in sub.ReadEventsAsync(cts.Token)) list.Add(e);
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested)
        {
            throw new TimeoutException($"task {sub.TaskId}: no terminal event within 15 s; got {string.Join(" ", list.Select(e => e.Kind))}");
        }
        return list;
    }

    [Fact]
    public async Task TheServerConfiguredForAnEndpoint_OffersLlm_AndTheDotNetSdkStreamsItsToolLoop()
    {
        await using var fake = await FakeChatServer.StartAsync();
        fake.Enqueue(FakeReply.Replay("tool-call.sse"));
        fake.Enqueue(FakeReply.Replay("tool-answer.sse"));
        await using var hub = await Hub.StartAsync(
            $"--RealtimeAgents:Llm:BaseUrl={fake.BaseUrl}", "--RealtimeAgents:Llm:ApiKey=sk-hub", "--RealtimeAgents:Llm:Model=llama3.2");
        var client = hub.Client;

        var task = await client.SubmitAsync(new SubmitTaskRequest { Agent = "llm", Input = "What is (2 + 3) * 4?" }).DefaultTimeout();
        var sub = await client.SubscribeAsync(task.TaskId).DefaultTimeout();
        var events = await CollectAsync(sub);

        StreamAssert.CompleteTask(events);
        Assert.Equal(EventKinds.TaskCompleted, events[^1].Kind);
        Assert.Equal("(2 + 3) * 4 is 20.", events[^1].DataAs<TaskCompletedData>().Output);
        Assert.Equal(20, events.Single(e => e.Kind == EventKinds.ToolResult).DataAs<ToolResultData>().Output.GetProperty("result").GetDouble());
        Assert.Equal("llama3.2", fake.Requests[0].Body.GetProperty("model").GetString());
        Assert.Equal("Bearer sk-hub", fake.Requests[0].Authorization);
        Assert.Equal(TaskStates.Completed, (await client.GetTaskAsync(task.TaskId).DefaultTimeout()).Status);
    }

    [Fact]
    public async Task TheServerWithNoModelConfigured_StartsAnyway_AndAnLlmTaskFailsWithBadApiKey()
    {
        // OPENAI_API_KEY is emptied on the command line so a key in the environment cannot leak in.
        await using var hub = await Hub.StartAsync("--OPENAI_API_KEY=", "--OPENAI_BASE_URL=");
        var client = hub.Client;

        var task = await client.SubmitAsync(new SubmitTaskRequest { Agent = "llm", Input = "Hello?" }).DefaultTimeout();
        var events = await CollectAsync(await client.SubscribeAsync(task.TaskId).DefaultTimeout());

        StreamAssert.CompleteTask(events);
        var failed = events[^1].DataAs<TaskFailedData>();
        Assert.Equal("bad_api_key", failed.Code);
        Assert.Contains("No API key is configured", failed.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task WithRequireApproval_TheLlmAgentAsksBeforeItsToolCall_AndRunsItOnlyWhenApproved(bool approve)
    {
        await using var fake = await FakeChatServer.StartAsync();
        fake.Enqueue(FakeReply.Replay("tool-call.sse"));
        fake.Enqueue(FakeReply.Replay("tool-answer.sse"));
        await using var hub = await Hub.StartAsync(
            $"--RealtimeAgents:Llm:BaseUrl={fake.BaseUrl}", "--RealtimeAgents:Llm:ApiKey=sk-hub", "--RealtimeAgents:Llm:Model=llama3.2");
        var client = hub.Client;
        var task = await client.SubmitAsync(new SubmitTaskRequest
        {
            Agent = "llm", Input = "What is (2 + 3) * 4?", Options = System.Text.Json.JsonSerializer.SerializeToElement(new { requireApproval = true }),
        }).DefaultTimeout();
        var sub = await client.SubscribeAsync(task.TaskId).DefaultTimeout();
        var events = new List<AgentEvent>();
        using var cts = new CancellationTokenSource(15_000);
        await foreach (var e in sub.ReadEventsAsync(cts.Token))
        {
            events.Add(e);
            if (e.Kind == EventKinds.ToolApproval && e.DataAs<ToolApprovalData>() is { Status: ApprovalStates.Pending } p)
            {
                Assert.Equal("calculator", p.ToolName);
                await client.RespondToApprovalAsync(task.TaskId, p.ToolCallId, approve, approve ? null : "no maths today").DefaultTimeout();
            }
        }

        StreamAssert.CompleteTask(events);
        Assert.Equal(EventKinds.TaskCompleted, events[^1].Kind);
        var result = events.Single(e => e.Kind == EventKinds.ToolResult).DataAs<ToolResultData>();
        Assert.Equal(!approve, result.IsError);
        if (approve) Assert.Equal(20, result.Output.GetProperty("result").GetDouble());
        else Assert.Equal("The user denied this tool call: no maths today", result.Output.GetProperty("error").GetString());
        // The model reads what happened in its next request.
        Assert.Contains(approve ? "20" : "no maths today", fake.Requests[1].Body.GetRawText(), StringComparison.Ordinal);
    }
}
