using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;

namespace RealtimeAgents.Agents.Tests;

/// <summary>
/// A model that answers by rule, with no network, so an Agent Framework agent can be driven
/// through every kind of update:
/// <list type="bullet">
/// <item>after a tool result: "The weather in Paris is {result}." in word deltas, with usage;</item>
/// <item>"weather": a reasoning delta, then a get_weather call for Paris, with usage;</item>
/// <item>"slow": 200 word deltas 50 ms apart (something to interrupt);</item>
/// <item>"fail": one delta, then an error content with code "content_filter";</item>
/// <item>"recall": "You said first: {the conversation's first user text}" and how many user turns it sees;</item>
/// <item>anything else: "Echo: {text}".</item>
/// </list>
/// </summary>
internal sealed class ScriptedChatClient : IChatClient
{
    private int _calls;

    /// <summary>How many times the model was called.</summary>
    public int Calls => Volatile.Read(ref _calls);

    public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        var updates = new List<ChatResponseUpdate>();
        await foreach (var u in GetStreamingResponseAsync(messages, options, cancellationToken).ConfigureAwait(false)) updates.Add(u);
        return updates.ToChatResponse();
    }

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages,
        ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref _calls);
        var list = messages.ToList();
        var last = list[^1];
        var users = list.Where(m => m.Role == ChatRole.User && !string.IsNullOrEmpty(m.Text)).ToList();
        await Task.Yield();
        if (last.Contents.OfType<FunctionResultContent>().FirstOrDefault() is { } result)
        {
            foreach (var w in Words($"The weather in Paris is {result.Result}.")) yield return Text(w);
            yield return Usage(20, 8);
            yield break;
        }
        string text = users.Count > 0 ? users[^1].Text : "";
        if (text.Contains("weather", StringComparison.OrdinalIgnoreCase))
        {
            yield return new ChatResponseUpdate(ChatRole.Assistant, [new TextReasoningContent("I should look it up.")]);
            yield return new ChatResponseUpdate(ChatRole.Assistant,
                [new FunctionCallContent($"call_w{list.Count}", "get_weather", new Dictionary<string, object?> { ["city"] = "Paris" })]);
            yield return Usage(12, 5);
        }
        else if (text.Contains("slow", StringComparison.OrdinalIgnoreCase))
        {
            for (int i = 0; i < 200; i++)
            {
                await Task.Delay(50, cancellationToken).ConfigureAwait(false);
                yield return Text(i == 0 ? "word" : " word");
            }
        }
        else if (text.Contains("fail", StringComparison.OrdinalIgnoreCase))
        {
            yield return Text("Let me");
            yield return new ChatResponseUpdate(ChatRole.Assistant, [new ErrorContent("The answer was filtered.") { ErrorCode = "content_filter" }]);
        }
        else if (text.Contains("recall", StringComparison.OrdinalIgnoreCase))
        {
            yield return Text($"You said first: {users[0].Text}. Turns: {users.Count}.");
        }
        else
        {
            yield return Text("Echo: " + text);
        }
    }

    private static IEnumerable<string> Words(string s) => s.Split(' ').Select((w, i) => i == 0 ? w : " " + w);

    private static ChatResponseUpdate Text(string delta) => new(ChatRole.Assistant, delta);

    private static ChatResponseUpdate Usage(long input, long output) =>
        new(ChatRole.Assistant, [new UsageContent(new UsageDetails { InputTokenCount = input, OutputTokenCount = output })]);

    public object? GetService(Type serviceType, object? serviceKey = null) => null;

    public void Dispose()
    {
    }
}
