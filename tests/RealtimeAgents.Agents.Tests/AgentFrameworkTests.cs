using System.Text.Json;
using RealtimeAgents.Client;
using RealtimeAgents.Conformance;
using Microsoft.Extensions.DependencyInjection;
using RealtimeAgents.Contracts;
using RealtimeAgents.Core;
using RealtimeAgents.Testing;
using Xunit;

namespace RealtimeAgents.Agents.Tests;

/// <summary>Agent Framework agents (ChatClientAgent on a scripted model) served by the hub, read with the .NET SDK.</summary>
public sealed class AgentFrameworkTests
{
    [Fact]
    public async Task AChatClientAgent_StreamsReasoning_ToolCallAndResult_TextAndUsage_AsOurEvents()
    {
        await using var hub = await AgentFrameworkHub.StartAsync();

        var events = await hub.RunAsync("af", "What is the weather in Paris?");

        StreamAssert.CompleteTask(events);
        StreamAssert.Framed(events);
        Assert.Equal("I should look it up.", string.Concat(events.Where(e => e.Kind == EventKinds.ReasoningDelta).Select(e => e.DataAs<TextData>().Delta)));
        var start = events.Single(e => e.Kind == EventKinds.ToolStart).DataAs<ToolCallData>();
        Assert.Equal("get_weather", start.ToolName);
        var end = events.Single(e => e.Kind == EventKinds.ToolEnd).DataAs<ToolCallData>();
        Assert.Equal(start.ToolCallId, end.ToolCallId);
        Assert.Equal("Paris", end.Input!.Value.GetProperty("city").GetString());
        Assert.Equal("{\"city\":\"Paris\"}", events.Single(e => e.Kind == EventKinds.ToolArgs).DataAs<ToolCallData>().Delta);
        var result = events.Single(e => e.Kind == EventKinds.ToolResult).DataAs<ToolResultData>();
        Assert.Equal(start.ToolCallId, result.ToolCallId);
        Assert.False(result.IsError);
        Assert.Contains("sunny", result.Output.GetRawText(), StringComparison.Ordinal);
        Assert.Equal(1, hub.ToolRuns);
        // Reasoning comes before the call, the result before the answer's text.
        Assert.True(events.FindIndex(e => e.Kind == EventKinds.ReasoningEnd) < events.FindIndex(e => e.Kind == EventKinds.ToolStart));
        Assert.True(events.FindIndex(e => e.Kind == EventKinds.ToolResult) < events.FindIndex(e => e.Kind == EventKinds.TextStart));
        var completed = events[^1].DataAs<TaskCompletedData>();
        Assert.Equal(EventKinds.TaskCompleted, events[^1].Kind);
        Assert.Equal(StreamAssert.Text(events), completed.Output);
        Assert.StartsWith("The weather in Paris is ", completed.Output, StringComparison.Ordinal);
        Assert.Equal(new UsageData(32, 13), completed.Usage);
    }

    [Fact]
    public async Task AnErrorContentMidStream_EndsTheTaskAsFailed_WithItsCode_AndClosesTheText()
    {
        await using var hub = await AgentFrameworkHub.StartAsync();

        var events = await hub.RunAsync("af", "Please fail now");

        StreamAssert.CompleteTask(events);
        StreamAssert.Framed(events);
        Assert.Equal(EventKinds.TaskFailed, events[^1].Kind);
        Assert.Equal(new TaskFailedData("The answer was filtered.", "content_filter"), events[^1].DataAs<TaskFailedData>());
        Assert.Equal("Let me", StreamAssert.Text(events));
    }

    [Fact]
    public async Task Interrupt_MidAnswer_CancelsTheRun_AndTheModelStopsStreaming()
    {
        await using var hub = await AgentFrameworkHub.StartAsync();
        var task = await hub.Client.SubmitAsync(new SubmitTaskRequest { Agent = "af", Input = "Answer slow please" }).DefaultTimeout();
        var sub = await hub.Client.SubscribeAsync(task.TaskId).DefaultTimeout();
        int deltas = 0;

        var events = await AgentFrameworkHub.CollectAsync(sub, async e =>
        {
            if (e.Kind == EventKinds.TextDelta && ++deltas == 3) await hub.Client.InterruptAsync(task.TaskId, "enough").DefaultTimeout();
        });

        StreamAssert.CompleteTask(events);
        StreamAssert.Framed(events);
        Assert.Equal(EventKinds.TaskCancelled, events[^1].Kind);
        Assert.Equal("enough", events[^1].DataAs<TaskCancelledData>().Reason);
        Assert.InRange(events.Count(e => e.Kind == EventKinds.TextDelta), 3, 100);
    }

    [Fact]
    public async Task TheSecondTaskOfAThread_SeesTheFirstsConversation_ThroughTheStoredSession()
    {
        await using var hub = await AgentFrameworkHub.StartAsync();
        var first = await hub.RunAsync("af", "Remember the word apricot");
        Assert.Equal("Echo: Remember the word apricot", StreamAssert.Text(first));

        var second = await hub.RunAsync("af", "Now recall it", threadId: first[0].ThreadId);

        Assert.Equal(EventKinds.TaskCompleted, second[^1].Kind);
        Assert.Equal("You said first: Remember the word apricot. Turns: 2.", StreamAssert.Text(second));
    }

    [Fact]
    public async Task ARetriedTask_StartsFromTheStateStoredBeforeIt_NotFromWhatItsEarlierAttemptSaved()
    {
        await using var hub = await AgentFrameworkHub.StartAsync();
        var first = await hub.RunAsync("af", "Remember the word apricot");
        string threadId = first[0].ThreadId;
        var states = hub.Services.GetRequiredService<IThreadStateStore>();
        var afterFirst = await states.GetAsync(threadId, "af").AsTask().DefaultTimeout();
        Assert.Equal(first[0].TaskId, afterFirst!.TaskId);
        // A slow task holds the thread while the next one waits; its id is known before it runs.
        var slow = await hub.Client.SubmitAsync(new SubmitTaskRequest { Agent = "af", Input = "Answer slow please", ThreadId = threadId }).DefaultTimeout();
        var next = await hub.Client.SendMessageAsync(threadId, "Now recall it", MessagePolicies.Enqueue).DefaultTimeout();
        // As if an earlier attempt of the next task had saved (an empty conversation) and then lost its worker.
        await states.SetAsync(threadId, "af", new AgentThreadState(next.TaskId, "{}", afterFirst.State)).AsTask().DefaultTimeout();
        await hub.Client.InterruptAsync(slow.TaskId).DefaultTimeout();

        var second = await AgentFrameworkHub.CollectAsync(await hub.Client.SubscribeAsync(next.TaskId).DefaultTimeout());

        Assert.Equal(EventKinds.TaskCompleted, second[^1].Kind);
        Assert.Equal("You said first: Remember the word apricot. Turns: 2.", StreamAssert.Text(second));
        var saved = await states.GetAsync(threadId, "af").AsTask().DefaultTimeout();
        Assert.Equal((next.TaskId, afterFirst.State), (saved!.TaskId, saved.Before));
    }

    [Fact]
    public async Task ThreadMemoryInRedisMode_TheSecondTaskOnAnotherServerAndWorker_SeesTheFirstsConversation()
    {
        await using var redis = await RedisServer.StartAsync();
        string[] settings =
        [
            $"--RealtimeAgents:Redis={redis.ConnectionString}", $"--RealtimeAgents:RedisKeyPrefix={RedisServer.UniquePrefix()}",
            "--RealtimeAgents:Worker:InProcess=true",
        ];
        string threadId;
        await using (var a = await AgentFrameworkHub.StartAsync(settings))
        {
            var first = await a.RunAsync("af", "Remember the word apricot");
            Assert.Equal(EventKinds.TaskCompleted, first[^1].Kind);
            threadId = first[0].ThreadId;
        }
        // Server and worker A are gone: only Redis holds the session.
        await using var b = await AgentFrameworkHub.StartAsync(settings);

        var second = await b.RunAsync("af", "Now recall it", threadId: threadId);

        Assert.Equal(EventKinds.TaskCompleted, second[^1].Kind);
        Assert.Equal("You said first: Remember the word apricot. Turns: 2.", StreamAssert.Text(second));
    }

    [Fact]
    public async Task TheSameTask_IsSeenIdentically_ByTheDotNetSdk_AndTheOfficialJsClient()
    {
        await using var hub = await AgentFrameworkHub.StartAsync();
        var task = await hub.Client.SubmitAsync(new SubmitTaskRequest { Agent = "af", Input = "What is the weather in Paris?" }).DefaultTimeout();
        var js = hub.SubscribeWithJsClientAsync(task.TaskId);
        var dotnet = await AgentFrameworkHub.CollectAsync(await hub.Client.SubscribeAsync(task.TaskId).DefaultTimeout());
        var fromJs = await js;

        StreamAssert.CompleteTask(dotnet);
        Assert.Equal(dotnet.Count, fromJs.Count);
        for (int i = 0; i < dotnet.Count; i++)
        {
            Assert.Equal(dotnet[i].Seq, fromJs[i].GetProperty("seq").GetInt64());
            Assert.Equal(dotnet[i].Id, fromJs[i].GetProperty("id").GetString());
            Assert.Equal(dotnet[i].Kind, fromJs[i].GetProperty("kind").GetString());
            Assert.Equal(dotnet[i].Data.GetRawText(), fromJs[i].GetProperty("data").GetRawText());
        }
        Assert.Contains(fromJs, e => e.GetProperty("kind").GetString() == EventKinds.ToolResult);
    }
}
