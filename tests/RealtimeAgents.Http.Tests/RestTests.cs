using System.Net;
using System.Net.Http.Json;
using RealtimeAgents.Conformance;
using RealtimeAgents.Contracts;
using RealtimeAgents.Server.Http;
using RealtimeAgents.Testing;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace RealtimeAgents.Http.Tests;

public sealed class RestTests(HttpServerFixture server) : IClassFixture<HttpServerFixture>
{
    [Fact]
    public async Task PostTasks_Answers201_WithTheTask_AndALocationThatServesIt()
    {
        using var response = await server.Http.PostAsync("/tasks", HttpServerFixture.Json(HttpServerFixture.Demo())).DefaultTimeout();
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var created = (await response.Content.ReadFromJsonAsync<TaskCreatedResponse>().DefaultTimeout())!;
        Assert.StartsWith("t", created.TaskId, StringComparison.Ordinal);
        Assert.False(string.IsNullOrEmpty(created.ThreadId));
        Assert.Equal($"/tasks/{created.TaskId}", response.Headers.Location!.OriginalString);
        Assert.Equal($"/tasks/{created.TaskId}/events", created.EventsUrl);

        var info = (await server.Http.GetFromJsonAsync<TaskInfo>(response.Headers.Location).DefaultTimeout())!;
        Assert.Equal(created.TaskId, info.TaskId);
        Assert.Equal(created.ThreadId, info.ThreadId);
        Assert.Equal("demo", info.Agent);
        Assert.Equal("Plan a weekend trip to Porto", info.Input);

        await using var sse = await server.OpenEventsAsync(created.TaskId);
        StreamAssert.CompleteTask((await sse.ReadToEndAsync()).Events());
        var done = (await server.Http.GetFromJsonAsync<TaskInfo>(response.Headers.Location).DefaultTimeout())!;
        Assert.Equal(TaskStates.Completed, done.Status);
        Assert.NotNull(done.EndedAt);
    }

    [Fact]
    public async Task TheSameIdempotencyKeyHeader_ReturnsTheSameTask()
    {
        string key = Guid.NewGuid().ToString("N");
        async Task<TaskCreatedResponse> Post()
        {
            var request = new HttpRequestMessage(HttpMethod.Post, "/tasks") { Content = HttpServerFixture.Json(HttpServerFixture.Demo()) };
            request.Headers.Add("Idempotency-Key", key);
            using var response = await server.Http.SendAsync(request).DefaultTimeout();
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
            return (await response.Content.ReadFromJsonAsync<TaskCreatedResponse>().DefaultTimeout())!;
        }
        var first = await Post();
        var second = await Post();
        Assert.Equal(first.TaskId, second.TaskId);
        Assert.Equal(first.ThreadId, second.ThreadId);
        var other = await server.SubmitAsync(HttpServerFixture.Demo());
        Assert.NotEqual(first.TaskId, other.TaskId);
    }

    [Fact]
    public async Task Interrupt_EndsTheStreamWithTaskCancelled_CarryingTheReason()
    {
        var task = await server.SubmitAsync(HttpServerFixture.Demo(HttpServerFixture.DemoOptions(tokens: 500, tokenIntervalMs: 30, toolCalls: 0, reasoning: false)));
        await using var sse = await server.OpenEventsAsync(task.TaskId);
        var head = await sse.ReadUntilAsync(f => f.Event == EventKinds.TextDelta);

        using var response = await server.Http.PostAsync($"/tasks/{task.TaskId}/interrupt", HttpServerFixture.Json(new { reason = "enough" })).DefaultTimeout();
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal(task.TaskId, (await response.Content.ReadFromJsonAsync<TaskInfo>().DefaultTimeout())!.TaskId);

        var all = head.Concat(await sse.ReadToEndAsync()).Events();
        StreamAssert.CompleteTask(all);
        Assert.Equal(EventKinds.TaskCancelled, all[^1].Kind);
        Assert.Equal("enough", all[^1].DataAs<TaskCancelledData>().Reason);
        Assert.Equal(TaskStates.Cancelled, (await server.Http.GetFromJsonAsync<TaskInfo>($"/tasks/{task.TaskId}").DefaultTimeout())!.Status);
    }

    [Fact]
    public async Task Interrupt_WithoutABody_UsesTheDefaultReason()
    {
        var task = await server.SubmitAsync(HttpServerFixture.Demo(HttpServerFixture.DemoOptions(tokens: 500, tokenIntervalMs: 30, toolCalls: 0, reasoning: false)));
        using var response = await server.Http.PostAsync($"/tasks/{task.TaskId}/interrupt", null).DefaultTimeout();
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        await using var sse = await server.OpenEventsAsync(task.TaskId);
        var events = (await sse.ReadToEndAsync()).Events();
        Assert.Equal(EventKinds.TaskCancelled, events[^1].Kind);
    }

    private async Task<(TaskCreatedResponse Task, SseReader Stream)> RunningTaskAsync()
    {
        var task = await server.SubmitAsync(HttpServerFixture.Demo(HttpServerFixture.DemoOptions(tokens: 200, tokenIntervalMs: 20, toolCalls: 0, reasoning: false)));
        var sse = await server.OpenEventsAsync(task.TaskId);
        await sse.ReadUntilAsync(f => f.Event == EventKinds.TextDelta);
        return (task, sse);
    }

    private Task<HttpResponseMessage> PostMessageAsync(string threadId, string text, string? policy) =>
        server.Http.PostAsync($"/threads/{threadId}/messages", HttpServerFixture.Json(new { text, policy })).DefaultTimeout();

    [Fact]
    public async Task MessageWithInject_GoesIntoTheRunningTask_As200_AndAppearsAsUserMessage()
    {
        var (task, sse) = await RunningTaskAsync();
        await using var _ = sse;
        using var response = await PostMessageAsync(task.ThreadId, "Make it Vienna instead", MessagePolicies.Inject);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var sent = (await response.Content.ReadFromJsonAsync<SendMessageResult>().DefaultTimeout())!;
        Assert.Equal("injected", sent.Outcome);
        Assert.Equal(task.TaskId, sent.TaskId);
        var rest = (await sse.ReadToEndAsync()).Events();
        var message = Assert.Single(rest, e => e.Kind == EventKinds.UserMessage);
        Assert.Equal(sent.MessageId, message.DataAs<UserMessageData>().MessageId);
        Assert.Contains("Vienna", rest[^1].DataAs<TaskCompletedData>().Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MessageWithInterrupt_CancelsTheRunningTask_AndStartsANewOne_As201()
    {
        var (task, sse) = await RunningTaskAsync();
        await using var _ = sse;
        using var response = await PostMessageAsync(task.ThreadId, "Actually, Oslo", null);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var sent = (await response.Content.ReadFromJsonAsync<SendMessageResult>().DefaultTimeout())!;
        Assert.Equal("started", sent.Outcome);
        Assert.NotEqual(task.TaskId, sent.TaskId);
        Assert.Equal($"/tasks/{sent.TaskId}", response.Headers.Location!.OriginalString);
        Assert.Equal(EventKinds.TaskCancelled, (await sse.ReadToEndAsync()).Events()[^1].Kind);
        await using var next = await server.OpenEventsAsync(sent.TaskId);
        Assert.Equal(EventKinds.TaskCompleted, (await next.ReadToEndAsync()).Events()[^1].Kind);
    }

    [Fact]
    public async Task MessageWithEnqueue_WaitsForTheRunningTask()
    {
        var (task, sse) = await RunningTaskAsync();
        await using var _ = sse;
        using var response = await PostMessageAsync(task.ThreadId, "Then Madrid", MessagePolicies.Enqueue);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var sent = (await response.Content.ReadFromJsonAsync<SendMessageResult>().DefaultTimeout())!;
        Assert.Equal("queued", sent.Outcome);
        Assert.Equal(TaskStates.Pending, (await server.Http.GetFromJsonAsync<TaskInfo>($"/tasks/{sent.TaskId}").DefaultTimeout())!.Status);
        using var stop = await server.Http.PostAsync($"/tasks/{task.TaskId}/interrupt", null).DefaultTimeout();
        await sse.ReadToEndAsync();
        await using var next = await server.OpenEventsAsync(sent.TaskId);
        var events = (await next.ReadToEndAsync()).Events();
        Assert.Contains(events, e => e.Kind == EventKinds.TaskStarted);
    }

    [Fact]
    public async Task MessageWithReject_WhileATaskRuns_Is409_AndStartsNothing()
    {
        var (task, sse) = await RunningTaskAsync();
        await using var _ = sse;
        using var response = await PostMessageAsync(task.ThreadId, "Not now", MessagePolicies.Reject);
        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
        var thread = await server.Services.GetRequiredService<Core.ThreadService>().GetThreadAsync(Core.Caller.Developer, task.ThreadId).DefaultTimeout();
        Assert.Single(thread.Tasks);
        using var stop = await server.Http.PostAsync($"/tasks/{task.TaskId}/interrupt", null).DefaultTimeout();
    }
}
