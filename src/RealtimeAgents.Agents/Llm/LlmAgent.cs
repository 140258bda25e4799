using System.Text;
using System.Text.Json;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using RealtimeAgents.Agents.Llm.Tools;
using RealtimeAgents.Contracts;
using RealtimeAgents.Core;
using RealtimeAgents.Core.Runtime;

namespace RealtimeAgents.Agents.Llm;

/// <summary>
/// An agent over a chat model (<see cref="IChatClient"/>, by default <see cref="ChatCompletionsClient"/>
/// for any OpenAI-compatible endpoint) with a tool loop. Each step streams one model call into
/// events — reasoning deltas to reasoning.*, text deltas to text.*, tool calls to tool.start /
/// tool.args as the model writes them and tool.end with the parsed input — then runs the tools the
/// model asked for, reports each tool.result, gives the results back to the model and goes on, up
/// to <see cref="LlmOptions.MaxSteps"/> calls. The earlier tasks of the thread are the
/// conversation's memory; a message injected while the task runs joins before the next call.
/// The interrupt token cancels the HTTP request in flight.
/// </summary>
public sealed class LlmAgent(
    [FromKeyedServices(LlmAgent.ChatClientKey)] IChatClient chat,
    IEnumerable<ILlmTool> tools,
    ITaskStore store,
    IEventLog log,
    IOptions<LlmOptions> options) : IAgent
{
    /// <summary>The DI key of the agent's <see cref="IChatClient"/>; register your own under it to use another provider.</summary>
    public const string ChatClientKey = "llm";

    private readonly LlmOptions _options = options.Value;
    private readonly Dictionary<string, ILlmTool> _tools = tools.GroupBy(t => t.Name, StringComparer.Ordinal)
        .ToDictionary(g => g.Key, g => g.Last(), StringComparer.Ordinal);

    /// <inheritdoc />
    public async Task<AgentResult> RunAsync(AgentContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var overrides = LlmTaskOptions.Parse(context.Options);
        string model = overrides.Model ?? _options.Model;
        var messages = new List<ChatMessage>();
        if (!string.IsNullOrWhiteSpace(_options.SystemPrompt)) messages.Add(new ChatMessage(ChatRole.System, _options.SystemPrompt));
        messages.AddRange(await ThreadHistory.LoadAsync(store, log, context.ThreadId, context.TaskId, _options.MaxHistoryTasks,
            cancellationToken).ConfigureAwait(false));
        messages.Add(new ChatMessage(ChatRole.User, context.Input));

        var declarations = _tools.Values.Select(t => (AITool)AIFunctionFactory.CreateDeclaration(t.Name, t.Description, t.ParametersSchema)).ToList();
        var withTools = new ChatOptions
        {
            ModelId = model,
            Temperature = overrides.Temperature ?? _options.Temperature,
            MaxOutputTokens = overrides.MaxTokens ?? _options.MaxTokens,
            Tools = declarations.Count > 0 ? declarations : null,
        };
        // The last step offers no tools, so the model has to answer with what it has.
        var lastStep = withTools.Clone();
        lastStep.Tools = null;

        var answer = new StringBuilder();
        var usedIds = new HashSet<string>(StringComparer.Ordinal);
        long inputTokens = 0, outputTokens = 0;
        bool sawUsage = false;
        int maxSteps = Math.Max(1, overrides.MaxSteps ?? _options.MaxSteps);
        for (int step = 1; step <= maxSteps; step++)
        {
            while (context.Messages.TryRead(out var injected)) messages.Add(new ChatMessage(ChatRole.User, injected.Text));
            await context.StatusAsync(StatusPhases.Thinking, step == 1 ? $"Asking {model}" : $"Asking {model} (step {step})")
                .ConfigureAwait(false);

            var turn = new Turn(context, usedIds);
            await foreach (var update in chat.GetStreamingResponseAsync(messages, step == maxSteps ? lastStep : withTools, cancellationToken)
                .ConfigureAwait(false))
            {
                foreach (var content in update.Contents)
                {
                    if (content is UsageContent usage)
                    {
                        sawUsage = true;
                        inputTokens += usage.Details.InputTokenCount ?? 0;
                        outputTokens += usage.Details.OutputTokenCount ?? 0;
                    }
                    else
                    {
                        await turn.AddAsync(content).ConfigureAwait(false);
                    }
                }
            }
            await turn.EndAsync().ConfigureAwait(false);
            answer.Append(turn.Text);
            messages.Add(turn.ToMessage());

            if (turn.Calls.Count == 0)
            {
                // A message that came in during the answer gets an answer of its own.
                if (step < maxSteps && context.Messages.TryPeek(out _)) continue;
                break;
            }
            foreach (var call in turn.Calls)
            {
                var (output, isError) = step == maxSteps
                    ? (Error($"The step limit ({maxSteps}) is reached; the tool was not run."), true)
                    : overrides.RequireApproval && await context.RequestApprovalAsync(call.Block.ToolCallId, call.Name, call.Input,
                        cancellationToken: cancellationToken).ConfigureAwait(false) is { Approved: false } denied
                        ? (Error("The user denied this tool call" + (denied.Reason is { } r ? $": {r}" : ".")), true)
                        : await InvokeAsync(call, context, cancellationToken).ConfigureAwait(false);
                await call.Block.ResultAsync(output, isError).ConfigureAwait(false);
                messages.Add(new ChatMessage(ChatRole.Tool, [new FunctionResultContent(call.Block.ToolCallId, output)]));
            }
        }
        return new AgentResult(answer.ToString(), sawUsage ? new UsageData(inputTokens, outputTokens) : null);
    }

    private async Task<(JsonElement Output, bool IsError)> InvokeAsync(StreamedCall call, AgentContext context, CancellationToken ct)
    {
        await context.StatusAsync(StatusPhases.Acting, $"Calling {call.Name}").ConfigureAwait(false);
        if (!_tools.TryGetValue(call.Name, out var tool))
        {
            return (Error($"Unknown tool '{call.Name}'. Available: {string.Join(", ", _tools.Keys.Order(StringComparer.Ordinal))}."), true);
        }
        if (call.Input is not { } input) return (Error($"The arguments are not a valid JSON object: {call.ParseError}"), true);
        try
        {
            return (await tool.InvokeAsync(input, context, ct).ConfigureAwait(false), false);
        }
        catch (LlmToolException ex)
        {
            return (Error(ex.Message), true);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            return (Error($"The tool failed: {ex.Message}"), true);
        }
    }

    private static JsonElement Error(string message) =>
        JsonSerializer.SerializeToElement(new Dictionary<string, string> { ["error"] = message });

    /// <summary>
    /// One model call turned into events. Blocks never interleave: a new kind of content closes the
    /// open text or reasoning block, and a new tool call ends the one before it, so each block is
    /// whole in the stream as soon as the model has moved on.
    /// </summary>
    private sealed class Turn(AgentContext context, HashSet<string> usedIds)
    {
        private readonly StringBuilder _text = new();
        private readonly Dictionary<int, StreamedCall> _byIndex = [];
        private AgentContext.TextBlock? _textBlock;
        private AgentContext.TextBlock? _reasoningBlock;
        private StreamedCall? _openCall;
        private bool _streamedCalls;

        public List<StreamedCall> Calls { get; } = [];
        public string Text => _text.ToString();

        public async ValueTask AddAsync(AIContent content)
        {
            switch (content)
            {
                case TextReasoningContent { Text.Length: > 0 } r:
                    await EndTextAsync().ConfigureAwait(false);
                    await EndOpenCallAsync().ConfigureAwait(false);
                    _reasoningBlock ??= await context.StartReasoningAsync().ConfigureAwait(false);
                    await _reasoningBlock.WriteAsync(r.Text).ConfigureAwait(false);
                    break;
                case TextContent { Text.Length: > 0 } t:
                    await EndReasoningAsync().ConfigureAwait(false);
                    await EndOpenCallAsync().ConfigureAwait(false);
                    _textBlock ??= await context.StartTextAsync().ConfigureAwait(false);
                    await _textBlock.WriteAsync(t.Text).ConfigureAwait(false);
                    _text.Append(t.Text);
                    break;
                case ToolCallDeltaContent d:
                    _streamedCalls = true;
                    await AddDeltaAsync(d).ConfigureAwait(false);
                    break;
                case FunctionCallContent f when !_streamedCalls:
                    // From a chat client that does not stream tool calls: the whole call at once.
                    // (A streaming one repeats its calls whole at the end; those are already here.)
                    await AddDeltaAsync(new ToolCallDeltaContent(-1 - Calls.Count) { CallId = f.CallId, Name = f.Name, ArgumentsDelta = Arguments(f) })
                        .ConfigureAwait(false);
                    break;
            }
        }

        private async ValueTask AddDeltaAsync(ToolCallDeltaContent d)
        {
            await EndReasoningAsync().ConfigureAwait(false);
            await EndTextAsync().ConfigureAwait(false);
            if (!_byIndex.TryGetValue(d.Index, out var call))
            {
                await EndOpenCallAsync().ConfigureAwait(false);
                _byIndex[d.Index] = call = new StreamedCall { ModelCallId = d.CallId };
                _openCall = call;
            }
            call.ModelCallId ??= d.CallId;
            if (call.Started is false && d.Name is { Length: > 0 } name)
            {
                call.Name = name;
                // The model's id when it is usable, so logs on both sides match; ours otherwise.
                string? id = call.ModelCallId is { Length: > 0 and <= 200 } m && usedIds.Add(m) ? m : null;
                call.Block = await context.StartToolCallAsync(name, id).ConfigureAwait(false);
                usedIds.Add(call.Block.ToolCallId);
                Calls.Add(call);
                if (call.Arguments.Length > 0) await call.Block.ArgsAsync(call.Arguments.ToString()).ConfigureAwait(false);
            }
            if (d.ArgumentsDelta is { Length: > 0 } piece)
            {
                call.Arguments.Append(piece);
                if (call.Started) await call.Block.ArgsAsync(piece).ConfigureAwait(false);
            }
            if (d.Index < 0) await EndOpenCallAsync().ConfigureAwait(false);
        }

        public async ValueTask EndAsync()
        {
            await EndReasoningAsync().ConfigureAwait(false);
            await EndTextAsync().ConfigureAwait(false);
            await EndOpenCallAsync().ConfigureAwait(false);
            foreach (var call in Calls.Where(c => !c.Ended)) await EndCallAsync(call).ConfigureAwait(false);
        }

        public ChatMessage ToMessage()
        {
            var contents = new List<AIContent>();
            if (_text.Length > 0) contents.Add(new TextContent(_text.ToString()));
            foreach (var call in Calls)
            {
                contents.Add(new FunctionCallContent(call.Block.ToolCallId, call.Name) { RawRepresentation = call.Arguments.ToString() });
            }
            return new ChatMessage(ChatRole.Assistant, contents);
        }

        private async ValueTask EndOpenCallAsync()
        {
            if (_openCall is { Started: true, Ended: false } call) await EndCallAsync(call).ConfigureAwait(false);
            _openCall = null;
        }

        private static async ValueTask EndCallAsync(StreamedCall call)
        {
            call.Ended = true;
            string args = call.Arguments.ToString();
            try
            {
                using var doc = JsonDocument.Parse(args.Length == 0 ? "{}" : args);
                if (doc.RootElement.ValueKind == JsonValueKind.Object) call.Input = doc.RootElement.Clone();
                else call.ParseError = $"expected an object, got {doc.RootElement.ValueKind.ToString().ToLowerInvariant()}";
            }
            catch (JsonException ex)
            {
                call.ParseError = ex.Message;
            }
            await call.Block.EndAsync(call.Input).ConfigureAwait(false);
        }

        private async ValueTask EndTextAsync()
        {
            if (_textBlock is null) return;
            await _textBlock.EndAsync().ConfigureAwait(false);
            _textBlock = null;
        }

        private async ValueTask EndReasoningAsync()
        {
            if (_reasoningBlock is null) return;
            await _reasoningBlock.EndAsync().ConfigureAwait(false);
            _reasoningBlock = null;
        }

        private static string Arguments(FunctionCallContent f) =>
            f.RawRepresentation as string ?? (f.Arguments is null ? "{}" : JsonSerializer.Serialize(f.Arguments));
    }

    private sealed class StreamedCall
    {
        public string? ModelCallId;
        public string Name = "";
        public AgentContext.ToolCallBlock Block = null!;
        public readonly StringBuilder Arguments = new();
        public bool Ended;
        public JsonElement? Input;
        public string? ParseError;

        public bool Started => Block is not null;
    }
}
