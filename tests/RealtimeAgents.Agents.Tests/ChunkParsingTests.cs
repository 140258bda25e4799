using System.Text;
using RealtimeAgents.Agents.Llm;
using Xunit;

namespace RealtimeAgents.Agents.Tests;

/// <summary>The dialects of chat-completions chunks the client reads.</summary>
public sealed class ChunkParsingTests
{
    private static ChatCompletionsClient.Chunk? Parse(string data) => ChatCompletionsClient.Chunk.Parse(Encoding.UTF8.GetBytes(data));

    [Fact]
    public void OllamasReasoningField_IsReadLikeReasoningContent()
    {
        var chunk = Parse("""{"id":"chatcmpl-1","object":"chat.completion.chunk","model":"qwen3","choices":[{"index":0,"delta":{"role":"assistant","content":"","reasoning":"Let me see"},"finish_reason":null}]}""")!;
        Assert.Equal("Let me see", chunk.Reasoning);
        Assert.Equal("", chunk.Content);
    }

    [Fact]
    public void ToolCallsSentWholeWithoutAnIndex_GetTheirPositionAsIndex()
    {
        var chunk = Parse("""{"choices":[{"delta":{"tool_calls":[{"id":"a","function":{"name":"x","arguments":{"q":1}}},{"id":"b","function":{"name":"y","arguments":"{}"}}]}}]}""")!;
        Assert.Equal([0, 1], chunk.ToolCalls!.Select(c => c.Index));
        Assert.Equal("""{"q":1}""", chunk.ToolCalls![0].ArgumentsDelta);
    }

    [Fact]
    public void DoneCommentsAndErrors_AreRecognised()
    {
        Assert.True(Parse("[DONE]")!.Done);
        Assert.Null(Parse(""));
        Assert.NotNull(Parse("""{"error":{"message":"boom"}}""")!.Error);
        var usage = Parse("""{"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":4,"total_tokens":7}}""")!.Usage!;
        Assert.Equal((3L, 4L), (usage.InputTokenCount, usage.OutputTokenCount));
    }
}
