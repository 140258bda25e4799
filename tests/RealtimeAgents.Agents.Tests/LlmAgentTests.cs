using System.Text.Json;
using RealtimeAgents.Agents.Llm.Tools;
using RealtimeAgents.Conformance;
using RealtimeAgents.Contracts;
using RealtimeAgents.Core;
using RealtimeAgents.Testing;
using Xunit;

namespace RealtimeAgents.Agents.Tests;

/// <summary>The llm agent through the real runtime against a fake OpenAI-compatible endpoint.</summary>
public sealed class LlmAgentTests
{
    private const string CalculatorArgs = """{"expression":"(2 + 3) * 4"}""";

    /// <summary>The kinds after task.started and the worker's "running" status, statuses left out.</summary>
    private static List<string> Kinds(IEnumerable<AgentEvent> events) =>
        [.. events.SkipWhile(e => e.Kind != EventKinds.TaskStarted).Skip(1).Where(e => e.Kind != EventKinds.Status).Select(e => e.Kind)];

    private static List<string> Repeat(string kind, int n) => [.. Enumerable.Repeat(kind, n)];

    [Fact]
    public async Task ATextOnlyStream_BecomesOneFramedTextMessage_AndCompletesWithTheAnswerAndTheUsage()
    {
        await using var kit = await LlmKit.StartAsync();
        kit.Server.Enqueue(FakeReply.Replay("text.sse"));
        var task = await kit.SubmitAsync("What is the capital of France?");
        var events = await kit.CollectAsync(task.TaskId);

        StreamAssert.CompleteTask(events);
        Assert.Equal([EventKinds.TextStart, .. Repeat(EventKinds.TextDelta, 7), EventKinds.TextEnd, EventKinds.TaskCompleted], Kinds(events));
        Assert.Contains(events, e => e.Kind == EventKinds.Status && e.DataAs<StatusData>().Phase == StatusPhases.Thinking);
        var completed = events[^1].DataAs<TaskCompletedData>();
        Assert.Equal("The capital of France is Paris.", completed.Output);
        Assert.Equal(StreamAssert.Text(events), completed.Output);
        Assert.Equal(new UsageData(25, 7), completed.Usage);

        var request = Assert.Single(kit.Server.Requests);
        Assert.Equal("Bearer sk-test-key", request.Authorization);
        Assert.Equal("gpt-4o-mini", request.Body.GetProperty("model").GetString());
        Assert.True(request.Body.GetProperty("stream").GetBoolean());
        Assert.True(request.Body.GetProperty("stream_options").GetProperty("include_usage").GetBoolean());
        Assert.Equal([("system", "You are a test assistant."), ("user", "What is the capital of France?")], request.Turns);
        Assert.Equal(["calculator", "current_time", "notepad"],
            request.Body.GetProperty("tools").EnumerateArray().Select(t => t.GetProperty("function").GetProperty("name").GetString()).Order());
    }

    [Fact]
    public async Task AToolCall_StreamsItsArguments_RunsTheCalculator_AndTheResultReachesTheModelsNextRequest()
    {
        await using var kit = await LlmKit.StartAsync();
        kit.Server.Enqueue(FakeReply.Replay("tool-call.sse"));
        kit.Server.Enqueue(FakeReply.Replay("tool-answer.sse"));
        var task = await kit.SubmitAsync("What is (2 + 3) * 4?");
        var events = await kit.CollectAsync(task.TaskId);

        StreamAssert.CompleteTask(events);
        Assert.Equal([EventKinds.ToolStart, .. Repeat(EventKinds.ToolArgs, 10), EventKinds.ToolEnd, EventKinds.ToolResult,
            EventKinds.TextStart, .. Repeat(EventKinds.TextDelta, 9), EventKinds.TextEnd, EventKinds.TaskCompleted], Kinds(events));
        var start = events.Single(e => e.Kind == EventKinds.ToolStart).DataAs<ToolCallData>();
        Assert.Equal("calculator", start.ToolName);
        Assert.Equal("call_Qx3vT9mB2kLw8RzN5yHd1Fa", start.ToolCallId);
        Assert.Equal(CalculatorArgs, string.Concat(events.Where(e => e.Kind == EventKinds.ToolArgs).Select(e => e.DataAs<ToolCallData>().Delta)));
        var end = events.Single(e => e.Kind == EventKinds.ToolEnd).DataAs<ToolCallData>();
        Assert.Equal("(2 + 3) * 4", end.Input!.Value.GetProperty("expression").GetString());
        var result = events.Single(e => e.Kind == EventKinds.ToolResult).DataAs<ToolResultData>();
        Assert.False(result.IsError);
        Assert.Equal(20, result.Output.GetProperty("result").GetDouble());
        Assert.Contains(events, e => e.Kind == EventKinds.Status && e.DataAs<StatusData>().Phase == StatusPhases.Acting);
        var completed = events[^1].DataAs<TaskCompletedData>();
        Assert.Equal("(2 + 3) * 4 is 20.", completed.Output);
        Assert.Equal(new UsageData(82 + 117, 19 + 9), completed.Usage);

        Assert.Equal(2, kit.Server.Requests.Count);
        var next = kit.Server.Requests[1].Messages;
        Assert.Equal(["system", "user", "assistant", "tool"], next.Select(m => m.GetProperty("role").GetString()));
        var call = Assert.Single(next[2].GetProperty("tool_calls").EnumerateArray());
        Assert.Equal("call_Qx3vT9mB2kLw8RzN5yHd1Fa", call.GetProperty("id").GetString());
        Assert.Equal("calculator", call.GetProperty("function").GetProperty("name").GetString());
        Assert.Equal(CalculatorArgs, call.GetProperty("function").GetProperty("arguments").GetString());
        Assert.Equal("call_Qx3vT9mB2kLw8RzN5yHd1Fa", next[3].GetProperty("tool_call_id").GetString());
        using var toolContent = JsonDocument.Parse(next[3].GetProperty("content").GetString()!);
        Assert.Equal(20, toolContent.RootElement.GetProperty("result").GetDouble());
    }

    [Fact]
    public async Task TwoToolCallsInOneResponse_AreFramedOneAfterTheOther_AndBothResultsGoBackToTheModel()
    {
        await using var kit = await LlmKit.StartAsync();
        kit.Server.Enqueue(FakeReply.Replay("two-tool-calls.sse"));
        kit.Server.Enqueue(FakeReply.Replay("text.sse"));
        var task = await kit.SubmitAsync("What time is it in Tokyo? Remember the city.");
        var events = await kit.CollectAsync(task.TaskId);

        StreamAssert.CompleteTask(events);
        Assert.Equal([EventKinds.ToolStart, .. Repeat(EventKinds.ToolArgs, 4), EventKinds.ToolEnd,
            EventKinds.ToolStart, .. Repeat(EventKinds.ToolArgs, 4), EventKinds.ToolEnd,
            EventKinds.ToolResult, EventKinds.ToolResult], Kinds(events).Take(14));
        var results = events.Where(e => e.Kind == EventKinds.ToolResult).Select(e => e.DataAs<ToolResultData>()).ToList();
        Assert.All(results, r => Assert.False(r.IsError, r.Output.GetRawText()));
        Assert.Equal("Asia/Tokyo", results[0].Output.GetProperty("timezone").GetString());
        Assert.Equal("city", results[1].Output.GetProperty("saved").GetString());
        Assert.Equal("Tokyo", kit.Get<NotepadStore>().Get(task.ThreadId, "city"));

        var next = kit.Server.Requests[1].Messages;
        Assert.Equal(["system", "user", "assistant", "tool", "tool"], next.Select(m => m.GetProperty("role").GetString()));
        Assert.Equal(["call_T1mE5zOnE8kRw2Lq9Xc4Vb7", "call_N0tEpAd3sEt6Hj1Kz8Qw2Mn"],
            next.Skip(3).Select(m => m.GetProperty("tool_call_id").GetString()));
    }

    [Fact]
    public async Task ReasoningContentDeltas_BecomeAReasoningBlock_ClosedBeforeTheAnswerStarts()
    {
        await using var kit = await LlmKit.StartAsync();
        kit.Server.Enqueue(FakeReply.Replay("reasoning.sse"));
        var task = await kit.SubmitAsync("What is 17 times 3?");
        var events = await kit.CollectAsync(task.TaskId);

        StreamAssert.CompleteTask(events);
        Assert.Equal([EventKinds.ReasoningStart, .. Repeat(EventKinds.ReasoningDelta, 9), EventKinds.ReasoningEnd,
            EventKinds.TextStart, .. Repeat(EventKinds.TextDelta, 4), EventKinds.TextEnd, EventKinds.TaskCompleted], Kinds(events));
        Assert.Equal("The user asks for 17 times 3. That is 51.",
            string.Concat(events.Where(e => e.Kind == EventKinds.ReasoningDelta).Select(e => e.DataAs<TextData>().Delta)));
        var completed = events[^1].DataAs<TaskCompletedData>();
        Assert.Equal("17 × 3 = 51.", completed.Output);
        Assert.Equal(new UsageData(14, 31), completed.Usage);
    }

    [Fact]
    public async Task AnErrorObjectMidStream_FailsTheTaskWithModelError_AfterTheOpenTextIsClosed()
    {
        await using var kit = await LlmKit.StartAsync();
        kit.Server.Enqueue(FakeReply.Replay("error-midstream.sse"));
        var task = await kit.SubmitAsync("Think hard.");
        var events = await kit.CollectAsync(task.TaskId);

        StreamAssert.CompleteTask(events);
        Assert.Equal([EventKinds.TextStart, .. Repeat(EventKinds.TextDelta, 3), EventKinds.TextEnd, EventKinds.TaskFailed], Kinds(events));
        var failed = events[^1].DataAs<TaskFailedData>();
        Assert.Equal("model_error", failed.Code);
        Assert.Contains("The server had an error while processing your request", failed.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ASlowFirstToken_LeavesTheTaskThinking_UntilTheModelSpeaks()
    {
        await using var kit = await LlmKit.StartAsync();
        var reply = kit.Server.Enqueue(FakeReply.Replay("text.sse", holdBefore: 1));
        var task = await kit.SubmitAsync("What is the capital of France?");
        await reply.Holding.Task.DefaultTimeout();
        await kit.WaitForAsync(task.TaskId, EventKinds.Status).DefaultTimeout();

        var sofar = await kit.Get<IEventLog>().ReadAsync(task.TaskId, StreamId.Zero, 100).DefaultTimeout();
        Assert.DoesNotContain(sofar, e => e.Kind.StartsWith("text.", StringComparison.Ordinal));
        var thinking = sofar.Last(e => e.Kind == EventKinds.Status).DataAs(ContractsJsonContext.Default.StatusData);
        Assert.Equal(StatusPhases.Thinking, thinking.Phase);
        Assert.Contains("gpt-4o-mini", thinking.Label, StringComparison.Ordinal);

        reply.Gate.SetResult();
        var events = await kit.CollectAsync(task.TaskId);
        StreamAssert.CompleteTask(events);
        Assert.Equal("The capital of France is Paris.", events[^1].DataAs<TaskCompletedData>().Output);
    }

    [Fact]
    public async Task AnInterrupt_AbortsTheHttpRequestInFlight_AndTheTaskEndsCancelled()
    {
        await using var kit = await LlmKit.StartAsync();
        var reply = kit.Server.Enqueue(FakeReply.Replay("text.sse", holdBefore: 4));
        var task = await kit.SubmitAsync("What is the capital of France?");
        await reply.Holding.Task.DefaultTimeout();
        await kit.WaitForTextAsync(task.TaskId, "The capital of").DefaultTimeout();

        await kit.Tasks.InterruptAsync(LlmKit.Owner, task.TaskId, "changed my mind").DefaultTimeout();
        await reply.Aborted.Task.DefaultTimeout();
        var events = await kit.CollectAsync(task.TaskId);

        StreamAssert.CompleteTask(events);
        Assert.Equal(EventKinds.TaskCancelled, events[^1].Kind);
        Assert.Equal("changed my mind", events[^1].DataAs<TaskCancelledData>().Reason);
        Assert.Equal("The capital of", StreamAssert.Text(events));
        Assert.Single(kit.Server.Requests);
    }

    [Fact]
    public async Task ThreadMemory_CarriesTheEarlierTasksInputAndAnswer_IntoTheNextRequest()
    {
        await using var kit = await LlmKit.StartAsync();
        kit.Server.Enqueue(FakeReply.Replay("text.sse"));
        kit.Server.Enqueue(FakeReply.Replay("tool-answer.sse"));
        var first = await kit.SubmitAsync("What is the capital of France?");
        await kit.CollectAsync(first.TaskId);
        var second = await kit.SubmitAsync("And what is (2 + 3) * 4?", first.ThreadId);
        var events = await kit.CollectAsync(second.TaskId);

        Assert.Equal(EventKinds.TaskCompleted, events[^1].Kind);
        Assert.Equal(
            [("system", "You are a test assistant."), ("user", "What is the capital of France?"),
             ("assistant", "The capital of France is Paris."), ("user", "And what is (2 + 3) * 4?")],
            kit.Server.Requests[1].Turns);
    }

    [Fact]
    public async Task AMessageInjectedDuringAStep_JoinsTheConversation_BeforeTheNextModelCall()
    {
        await using var kit = await LlmKit.StartAsync();
        var reply = kit.Server.Enqueue(FakeReply.Replay("tool-call.sse", holdBefore: 4));
        kit.Server.Enqueue(FakeReply.Replay("tool-answer.sse"));
        var task = await kit.SubmitAsync("What is (2 + 3) * 4?");
        await reply.Holding.Task.DefaultTimeout();

        var sent = await kit.Threads.SendMessageAsync(LlmKit.Owner, task.ThreadId, "Then round it to tens.", MessagePolicies.Inject).DefaultTimeout();
        Assert.Equal("injected", sent.Outcome);
        await kit.WaitForAsync(task.TaskId, EventKinds.UserMessage).DefaultTimeout();
        reply.Gate.SetResult();
        var events = await kit.CollectAsync(task.TaskId);

        StreamAssert.CompleteTask(events);
        Assert.Equal(EventKinds.TaskCompleted, events[^1].Kind);
        Assert.Equal(["system", "user"], kit.Server.Requests[0].Messages.Select(m => m.GetProperty("role").GetString()));
        var next = kit.Server.Requests[1].Turns.ToList();
        Assert.Equal(["system", "user", "assistant", "tool", "user"], next.Select(t => t.Role));
        Assert.Equal("Then round it to tens.", next[^1].Content);
    }

    [Fact]
    public async Task TheStepLimit_EndsTheToolLoop_AndTheLastCallOffersTheModelNoTools()
    {
        await using var kit = await LlmKit.StartAsync(o => o.MaxSteps = 2);
        kit.Server.Enqueue(FakeReply.Replay("tool-call.sse"));
        kit.Server.Enqueue(FakeReply.Replay("tool-call.sse")); // the model insists on a tool anyway
        var task = await kit.SubmitAsync("What is (2 + 3) * 4?");
        var events = await kit.CollectAsync(task.TaskId);

        StreamAssert.CompleteTask(events);
        Assert.Equal(EventKinds.TaskCompleted, events[^1].Kind);
        Assert.Equal(2, kit.Server.Requests.Count);
        Assert.True(kit.Server.Requests[0].Body.TryGetProperty("tools", out _));
        Assert.False(kit.Server.Requests[1].Body.TryGetProperty("tools", out _));
        var results = events.Where(e => e.Kind == EventKinds.ToolResult).Select(e => e.DataAs<ToolResultData>()).ToList();
        Assert.Equal([false, true], results.Select(r => r.IsError));
        Assert.Contains("step limit", results[1].Output.GetProperty("error").GetString(), StringComparison.Ordinal);
        var ids = events.Where(e => e.Kind == EventKinds.ToolStart).Select(e => e.DataAs<ToolCallData>().ToolCallId).ToList();
        Assert.Equal(2, ids.Distinct().Count()); // the model reused its call id; ours stay unique per task
    }

    [Fact]
    public async Task WithoutAnApiKeyForOpenAI_TheServerStarts_AndTheTaskFailsWithBadApiKeyWithoutCallingOut()
    {
        await using var kit = await LlmKit.StartAsync(o => { o.BaseUrl = "https://api.openai.com/v1"; o.ApiKey = null; });
        var task = await kit.SubmitAsync("Hello?");
        var events = await kit.CollectAsync(task.TaskId);

        StreamAssert.CompleteTask(events);
        var failed = events[^1].DataAs<TaskFailedData>();
        Assert.Equal("bad_api_key", failed.Code);
        Assert.Contains("OPENAI_API_KEY", failed.Message, StringComparison.Ordinal);
        Assert.Contains("RealtimeAgents:Llm:ApiKey", failed.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ToolsThatRefuse_AndToolsThatDoNotExist_GiveTheModelErrorResults_AndTheLoopGoesOn()
    {
        await using var kit = await LlmKit.StartAsync();
        kit.Server.Enqueue(FakeReply.Replay("tool-call-errors.sse"));
        kit.Server.Enqueue(FakeReply.Replay("text.sse"));
        var task = await kit.SubmitAsync("Divide by zero and search the web.");
        var events = await kit.CollectAsync(task.TaskId);

        StreamAssert.CompleteTask(events);
        Assert.Equal(EventKinds.TaskCompleted, events[^1].Kind);
        var results = events.Where(e => e.Kind == EventKinds.ToolResult).Select(e => e.DataAs<ToolResultData>()).ToList();
        Assert.All(results, r => Assert.True(r.IsError));
        Assert.Equal("Division by zero.", results[0].Output.GetProperty("error").GetString());
        Assert.Equal("Unknown tool 'web_search'. Available: calculator, current_time, notepad.", results[1].Output.GetProperty("error").GetString());
        var toolMessages = kit.Server.Requests[1].Messages.Where(m => m.GetProperty("role").GetString() == "tool").ToList();
        Assert.Equal(2, toolMessages.Count);
        Assert.Contains("Division by zero.", toolMessages[0].GetProperty("content").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task TaskOptions_OverrideTheModelTemperatureAndMaxTokens_ForThatTaskOnly()
    {
        await using var kit = await LlmKit.StartAsync();
        kit.Server.Enqueue(FakeReply.Replay("text.sse"));
        var task = await kit.SubmitAsync("Hi", options: new { model = "qwen3", temperature = "0.3", maxTokens = 64, tokens = 5 });
        await kit.CollectAsync(task.TaskId);

        var body = Assert.Single(kit.Server.Requests).Body;
        Assert.Equal("qwen3", body.GetProperty("model").GetString());
        Assert.Equal(0.3, body.GetProperty("temperature").GetDouble(), 5);
        Assert.Equal(64, body.GetProperty("max_tokens").GetInt32());
    }

    [Theory]
    [InlineData("""{"model":""}""", "Option 'model'")]
    [InlineData("""{"temperature":3}""", "Option 'temperature'")]
    [InlineData("""{"temperature":"warm"}""", "Option 'temperature'")]
    [InlineData("""{"maxSteps":0}""", "Option 'maxSteps'")]
    [InlineData("""{"maxTokens":1.5}""", "Option 'maxTokens'")]
    public async Task BadTaskOptions_AreRefusedAtSubmit_BeforeATaskExists(string options, string message)
    {
        await using var kit = await LlmKit.StartAsync();
        var ex = await Assert.ThrowsAsync<RealtimeAgentsException>(() => kit.Tasks.SubmitAsync(LlmKit.Owner, new SubmitTaskRequest
        {
            Agent = "llm", Input = "Hi", Options = JsonDocument.Parse(options).RootElement.Clone(),
        }).DefaultTimeout());
        Assert.Contains(message, ex.Message, StringComparison.Ordinal);
        Assert.Empty(kit.Server.Requests);
    }
}
