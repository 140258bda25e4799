using System.Buffers;
using System.Text.Json;

namespace RealtimeAgents.Server;

/// <summary>
/// The one nesting limit of JSON the server accepts from callers, checked the same way wherever
/// JSON comes in (hub arguments, REST and AG-UI bodies): a document nested deeper than
/// <see cref="MaxDepth"/> levels is refused as invalid_argument with <see cref="TooDeepMessage"/>,
/// and the connection it came on stays open. (Size limits are the transports' own.)
/// </summary>
public static class JsonInput
{
    /// <summary>Levels of objects and arrays one input may nest (32): a request object with its options inside.</summary>
    public const int MaxDepth = 32;

    /// <summary>What a caller is told about input nested too deep.</summary>
    public static readonly string TooDeepMessage = $"The request is nested more than {MaxDepth} levels deep; that is the limit.";

    /// <summary>How deep the JSON value nests (a scalar is 0, {} is 1), or -1 if it is not valid JSON.</summary>
    public static int DepthOf(ReadOnlySequence<byte> json)
    {
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = int.MaxValue / 2, CommentHandling = JsonCommentHandling.Disallow });
        int max = 0;
        try
        {
            while (reader.Read())
            {
                if (reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray) max = Math.Max(max, reader.CurrentDepth + 1);
            }
        }
        catch (JsonException)
        {
            return -1;
        }
        return max;
    }

    /// <inheritdoc cref="DepthOf(ReadOnlySequence{byte})"/>
    public static int DepthOf(ReadOnlyMemory<byte> json) => DepthOf(new ReadOnlySequence<byte>(json));
}
