using System.Text;
using System.Text.Json;
using Microsoft.Agents.AI;
using Microsoft.Extensions.AI;
using RealtimeAgents.Contracts;
using RealtimeAgents.Core;
using RealtimeAgents.Core.Runtime;

namespace RealtimeAgents.Agents.AgentFramework;

/// <summary>
/// Runs a Microsoft Agent Framework <see cref="AIAgent"/> as one of our agents. One task is one
/// or more streaming runs of the agent on the thread's session:
/// <list type="bullet">
/// <item>the session is restored from <see cref="IThreadStateStore"/> (the state stored before
/// this task, even if this task is a retry whose earlier attempt saved), and saved after the
/// task completes;</item>
/// <item>each update's contents become our events: text and reasoning deltas framed with
/// start/end, function calls as tool.start / tool.args / tool.end, function results as
/// tool.result, usage summed into task.completed, an error content as task.failed with its
/// code;</item>
/// <item>a run that ends asking for tool approvals (functions wrapped in
/// <see cref="ApprovalRequiredAIFunction"/>) waits for each answer through
/// <see cref="AgentContext.RequestApprovalAsync"/> and runs again with the responses, so an
/// approved call runs and a denied one reaches the model as a rejected call;</item>
/// <item>a message injected while a run streams cannot enter that run (the framework takes a
/// run's messages when it starts), so it joins the next run: the one after an approval, or a
/// follow-up run started for it when the agent has answered.</item>
/// </list>
/// The token cancels the run (interrupt).
/// </summary>
internal sealed class AIAgentAdapter(string name, AIAgent agent, IThreadStateStore states) : IAgent
{
    /// <summary>Follow-up runs for injected messages and approvals, at most, per task.</summary>
    private const int MaxRuns = 32;

    public async Task<AgentResult> RunAsync(AgentContext context, CancellationToken cancellationToken)
    {
        var stored = await states.GetAsync(context.ThreadId, name, cancellationToken).ConfigureAwait(false);
        // A retry of the task that saved last starts from what that task started from.
        string? before = stored is null ? null : stored.TaskId == context.TaskId ? stored.Before : stored.State;
        var session = before is null
            ? await agent.CreateSessionAsync(cancellationToken).ConfigureAwait(false)
            : await agent.DeserializeSessionAsync(JsonDocument.Parse(before).RootElement, null, cancellationToken).ConfigureAwait(false);

        var run = new RunState(context);
        List<ChatMessage> input = [new(ChatRole.User, context.Input)];
        for (int n = 0; n < MaxRuns; n++)
        {
            await context.StatusAsync(StatusPhases.Thinking).ConfigureAwait(false);
            var approvals = new List<ToolApprovalRequestContent>();
            await foreach (var update in agent.RunStreamingAsync(input, session, null, cancellationToken).ConfigureAwait(false))
            {
                foreach (var content in update.Contents)
                {
                    if (content is ToolApprovalRequestContent request) approvals.Add(request);
                    else await run.MapAsync(content).ConfigureAwait(false);
                }
            }
            await run.CloseTextAsync().ConfigureAwait(false);

            input = [];
            if (approvals.Count > 0)
            {
                var responses = new List<AIContent>(approvals.Count);
                foreach (var request in approvals)
                {
                    var call = request.ToolCall as FunctionCallContent;
                    string callId = call?.CallId ?? request.RequestId;
                    string toolName = call?.Name ?? "tool";
                    var arguments = await run.StartCallAsync(callId, toolName, call?.Arguments).ConfigureAwait(false);
                    var decision = await context.RequestApprovalAsync(callId, toolName, arguments, cancellationToken: cancellationToken)
                        .ConfigureAwait(false);
                    if (!decision.Approved) run.Denied.Add(callId);
                    responses.Add(request.CreateResponse(decision.Approved, decision.Reason));
                }
                input.Add(new ChatMessage(ChatRole.User, responses));
            }
            while (context.Messages.TryRead(out var message)) input.Add(new ChatMessage(ChatRole.User, message.Text));
            if (input.Count == 0) break;
        }

        var json = await agent.SerializeSessionAsync(session, null, cancellationToken).ConfigureAwait(false);
        await states.SetAsync(context.ThreadId, name, new AgentThreadState(context.TaskId, json.GetRawText(), before), CancellationToken.None)
            .ConfigureAwait(false);
        return new AgentResult(run.Answer.ToString(), run.Usage);
    }

    /// <summary>The blocks of one task across its runs.</summary>
    private sealed class RunState(AgentContext context)
    {
        // The framework's serializer options (they know its content types), written compactly as our events are.
        private static readonly JsonSerializerOptions Json = new(AIJsonUtilities.DefaultOptions) { WriteIndented = false };

        private readonly Dictionary<string, AgentContext.ToolCallBlock?> _calls = new(StringComparer.Ordinal);
        private AgentContext.TextBlock? _text;
        private AgentContext.TextBlock? _reasoning;
        private long _inputTokens, _outputTokens;
        private bool _hasUsage;

        public StringBuilder Answer { get; } = new();
        public HashSet<string> Denied { get; } = new(StringComparer.Ordinal);
        public UsageData? Usage => _hasUsage ? new UsageData(_inputTokens, _outputTokens) : null;

        public async ValueTask MapAsync(AIContent content)
        {
            switch (content)
            {
                case TextReasoningContent { Text.Length: > 0 } r:
                    await EndAsync(ref _text).ConfigureAwait(false);
                    _reasoning ??= await context.StartReasoningAsync().ConfigureAwait(false);
                    await _reasoning.WriteAsync(r.Text).ConfigureAwait(false);
                    break;
                case TextContent { Text.Length: > 0 } t:
                    await EndAsync(ref _reasoning).ConfigureAwait(false);
                    _text ??= await context.StartTextAsync().ConfigureAwait(false);
                    await _text.WriteAsync(t.Text).ConfigureAwait(false);
                    Answer.Append(t.Text);
                    break;
                case FunctionCallContent call:
                    await StartCallAsync(call.CallId, call.Name, call.Arguments).ConfigureAwait(false);
                    await context.StatusAsync(StatusPhases.Acting, call.Name).ConfigureAwait(false);
                    break;
                case FunctionResultContent result:
                    await CloseTextAsync().ConfigureAwait(false);
                    if (!_calls.TryGetValue(result.CallId, out var block))
                    {
                        // A result for a call this task never saw (the framework replays a call approved before).
                        await StartCallAsync(result.CallId, "tool", null).ConfigureAwait(false);
                        block = _calls[result.CallId];
                    }
                    _calls[result.CallId] = null; // answered
                    if (block is null) break;
                    await context.StatusAsync(StatusPhases.Observing).ConfigureAwait(false);
                    await block.ResultAsync(ToJson(result.Result), isError: result.Exception is not null || Denied.Contains(result.CallId))
                        .ConfigureAwait(false);
                    break;
                case UsageContent usage:
                    _hasUsage = true;
                    _inputTokens += usage.Details.InputTokenCount ?? 0;
                    _outputTokens += usage.Details.OutputTokenCount ?? 0;
                    break;
                case ErrorContent error:
                    throw new AgentException(string.IsNullOrEmpty(error.ErrorCode) ? "model_error" : error.ErrorCode, error.Message);
            }
        }

        /// <summary>Writes the call's framed block once per task (the framework may show a call again when it runs it after approval).</summary>
        public async ValueTask<JsonElement?> StartCallAsync(string callId, string toolName, IDictionary<string, object?>? arguments)
        {
            await CloseTextAsync().ConfigureAwait(false);
            JsonElement? input = arguments is null ? null : JsonSerializer.SerializeToElement(arguments, Json);
            if (_calls.ContainsKey(callId)) return input;
            var block = await context.StartToolCallAsync(toolName, callId).ConfigureAwait(false);
            if (input is { } json) await block.ArgsAsync(json.GetRawText()).ConfigureAwait(false);
            await block.EndAsync(input).ConfigureAwait(false);
            _calls[callId] = block;
            return input;
        }

        public async ValueTask CloseTextAsync()
        {
            await EndAsync(ref _text).ConfigureAwait(false);
            await EndAsync(ref _reasoning).ConfigureAwait(false);
        }

        private static ValueTask EndAsync(ref AgentContext.TextBlock? block)
        {
            var b = block;
            block = null;
            return b is null ? ValueTask.CompletedTask : b.EndAsync();
        }

        private static JsonElement ToJson(object? value) => value switch
        {
            null => JsonSerializer.SerializeToElement((string?)null, Json),
            JsonElement e => e,
            _ => JsonSerializer.SerializeToElement(value, value.GetType(), Json),
        };
    }
}
