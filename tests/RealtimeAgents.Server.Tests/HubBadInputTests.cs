using RealtimeAgents.Conformance;
using System.Text.Json;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using RealtimeAgents.Client;
using RealtimeAgents.Contracts;
using RealtimeAgents.Core;
using RealtimeAgents.Core.InMemory;
using RealtimeAgents.Testing;
using Xunit;

namespace RealtimeAgents.Server.Tests;

/// <summary>Each refusal has a clear message and leaves every stream exactly as it was.</summary>
public abstract class HubBadInputTests(ServerFixture server)
{
    private InMemoryEventLog Log => (InMemoryEventLog)server.Get<IEventLog>();

    private async Task<string> RefusedAsync(Func<Task> call)
    {
        int streams = Log.StreamCount;
        var ex = await Assert.ThrowsAsync<HubException>(call).DefaultTimeout();
        Assert.Equal(streams, Log.StreamCount);
        return ex.Message;
    }

    private async Task<(RealtimeAgentsClient Client, SubmitTaskResult Task, EventStreamInfo Before)> EndedTaskAsync()
    {
        var client = await server.ConnectAsync();
        var task = await client.SubmitAsync(ServerFixture.Demo(new { tokens = 3, tokenIntervalMs = 0, firstTokenDelayMs = 0, toolCalls = 0 })).DefaultTimeout();
        await (await client.SubscribeAsync(task.TaskId).DefaultTimeout()).CollectAsync();
        await client.UnsubscribeAsync(task.TaskId).DefaultTimeout();
        var info = await Log.GetInfoAsync(task.TaskId).AsTask().DefaultTimeout();
        return (client, task, info!);
    }

    [Fact]
    public async Task UnknownAgent_IsRefused_NamingTheAvailableOnes()
    {
        var client = await server.ConnectAsync();
        string message = await RefusedAsync(() => client.SubmitAsync(new SubmitTaskRequest { Agent = "nope", Input = "hi" }));
        Assert.Contains("Unknown agent 'nope'", message, StringComparison.Ordinal);
        Assert.Contains("demo", message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    public async Task EmptyInput_IsRefused(string input)
    {
        var client = await server.ConnectAsync();
        string message = await RefusedAsync(() => client.SubmitAsync(new SubmitTaskRequest { Agent = "demo", Input = input }));
        Assert.Contains("Input is empty", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task OversizedInput_IsRefused_WithTheLimit()
    {
        var client = await server.ConnectAsync();
        // Past the SDK's own check, so the server's refusal is what is tested.
        string message = await RefusedAsync(() => client.Connection.InvokeAsync<SubmitTaskResult>(HubMethods.SubmitTask,
            new SubmitTaskRequest { Agent = "demo", Input = new string('x', 32 * 1024 + 1) }));
        Assert.Contains("32769 bytes; the limit is 32768", message, StringComparison.Ordinal);
        // The connection survives a refused request.
        Assert.NotNull(await client.SubmitAsync(ServerFixture.Demo()).DefaultTimeout());
    }

    [Fact]
    public async Task OutOfRangeAgentOptions_AreRefused()
    {
        var client = await server.ConnectAsync();
        string message = await RefusedAsync(() => client.SubmitAsync(ServerFixture.Demo(new { tokens = 0 })));
        Assert.Contains("'tokens' must be a whole number from 1", message, StringComparison.Ordinal);
        message = await RefusedAsync(() => client.SubmitAsync(new SubmitTaskRequest { Agent = "demo", Input = "x", Options = JsonSerializer.SerializeToElement(new[] { 1 }) }));
        Assert.Contains("Options must be a JSON object", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UnknownTask_IsNotFound_ForEveryOperation()
    {
        var client = await server.ConnectAsync();
        string missing = "t" + Guid.NewGuid().ToString("N");
        Assert.Contains("not_found", await RefusedAsync(() => client.SubscribeAsync(missing)), StringComparison.Ordinal);
        Assert.Contains("not_found", await RefusedAsync(() => client.InterruptAsync(missing)), StringComparison.Ordinal);
        Assert.Contains("not_found", await RefusedAsync(() => client.GetTaskAsync(missing)), StringComparison.Ordinal);
        Assert.Contains("not_found", await RefusedAsync(() => client.SendMessageAsync("th" + Guid.NewGuid().ToString("N"), "hi")), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("../../etc")]
    [InlineData("{task}:meta")]
    [InlineData("a b")]
    [InlineData("")]
    public async Task MalformedTaskId_IsRefusedBeforeAnyLookup(string taskId)
    {
        var client = await server.ConnectAsync();
        Assert.Contains("malformed", await RefusedAsync(() => client.GetTaskAsync(taskId)), StringComparison.Ordinal);
        Assert.Contains("malformed", await RefusedAsync(() => client.InterruptAsync(taskId)), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("not-a-cursor")]
    [InlineData("12-")]
    [InlineData("*")]
    public async Task MalformedCursor_IsRefused_AndTheStreamIsUnchanged(string cursor)
    {
        var (client, task, before) = await EndedTaskAsync();
        string message = await RefusedAsync(() => client.SubscribeAsync(task.TaskId, cursor));
        Assert.Contains("cursor is malformed", message, StringComparison.Ordinal);
        Assert.Equal(before, await Log.GetInfoAsync(task.TaskId).AsTask().DefaultTimeout());
    }

    [Fact]
    public async Task UnknownPolicy_IsRefused_AndTheStreamIsUnchanged()
    {
        var (client, task, before) = await EndedTaskAsync();
        string message = await RefusedAsync(() => client.SendMessageAsync(task.ThreadId, "hi", "shout"));
        Assert.Contains("Unknown policy 'shout'", message, StringComparison.Ordinal);
        Assert.Equal(before, await Log.GetInfoAsync(task.TaskId).AsTask().DefaultTimeout());
        Assert.Single((await client.WatchThreadAsync(task.ThreadId).DefaultTimeout()).Thread.Tasks);
    }

    [Fact]
    public async Task OversizedMessage_IsRefused_AndTheStreamIsUnchanged()
    {
        var (client, task, before) = await EndedTaskAsync();
        string message = await RefusedAsync(() => client.Connection.InvokeAsync<SendMessageResult>(HubMethods.SendMessage,
            task.ThreadId, new string('é', 20_000), MessagePolicies.Interrupt));
        Assert.Contains("the limit is 32768 bytes", message, StringComparison.Ordinal);
        Assert.Equal(before, await Log.GetInfoAsync(task.TaskId).AsTask().DefaultTimeout());
    }

    [Fact]
    public async Task OneMebibyteInput_IsRefusedByTheSdkBeforeSending_AndTheConnectionAndItsOtherSubscriptionsCarryOn()
    {
        var client = await server.ConnectAsync();
        var running = await client.SubmitAsync(ServerFixture.Demo(new { tokens = 60, tokenIntervalMs = 10, firstTokenDelayMs = 0, toolDelayMs = 10 })).DefaultTimeout();
        var sub = await client.SubscribeAsync(running.TaskId).DefaultTimeout();
        string huge = new('x', 1024 * 1024);

        Assert.Equal("limit_exceeded: Input is 1048576 bytes; the limit is 32768 bytes.",
            await RefusedAsync(() => client.SubmitAsync(new SubmitTaskRequest { Agent = "demo", Input = huge })));
        Assert.Equal("limit_exceeded: Message is 1048576 bytes; the limit is 32768 bytes.",
            await RefusedAsync(() => client.SendMessageAsync(running.ThreadId, huge, MessagePolicies.Enqueue)));

        // Nothing was sent: the connection and the subscription on it carry on untouched.
        Assert.Equal(HubConnectionState.Connected, client.Connection.State);
        var events = await sub.CollectAsync();
        StreamAssert.CompleteTask(events);
        Assert.Equal(60, events.Count(e => e.Kind == EventKinds.TextDelta));
        Assert.Equal(0, sub.Resumes);
        Assert.Equal(0, client.Restarts);
        Assert.NotNull(await client.SubmitAsync(ServerFixture.Demo()).DefaultTimeout());
    }

    [Fact]
    public async Task OverLargeFrameFromAClientThatDoesNotCheck_ClosesItsConnectionWithAReason()
    {
        var client = await server.ConnectAsync(new() { UseMessagePack = server.MessagePack, AutomaticReconnect = false });
        var closed = new TaskCompletionSource<Exception?>(TaskCreationOptions.RunContinuationsAsynchronously);
        client.Connection.Closed += e =>
        {
            closed.TrySetResult(e);
            return Task.CompletedTask;
        };
        // The bare HubConnection, not the SDK: the frame is over the hub's message limit.
        await Assert.ThrowsAnyAsync<Exception>(() => client.Connection.InvokeAsync<SubmitTaskResult>(HubMethods.SubmitTask,
            new SubmitTaskRequest { Agent = "demo", Input = new string('x', 1024 * 1024) })).DefaultTimeout();
        var reason = await closed.Task.DefaultTimeout();
        Assert.NotNull(reason);
        Assert.Contains("Connection closed with an error", reason.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task InterruptingAnEndedTask_ChangesNothing()
    {
        var (client, task, before) = await EndedTaskAsync();
        await client.InterruptAsync(task.TaskId).DefaultTimeout();
        Assert.Equal(before, await Log.GetInfoAsync(task.TaskId).AsTask().DefaultTimeout());
    }
}

/// <summary>Every test above over the JSON hub protocol.</summary>
public sealed class HubBadInputTestsOverJson(ServerFixture server) : HubBadInputTests(server), IClassFixture<ServerFixture>;

/// <summary>Every test above over the MessagePack hub protocol.</summary>
public sealed class HubBadInputTestsOverMessagePack(MessagePackServerFixture server) : HubBadInputTests(server), IClassFixture<MessagePackServerFixture>;
