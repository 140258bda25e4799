using System.Buffers;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace RealtimeAgents.Server.Http;

/// <summary>
/// Reads a JSON request body with a size limit and a readable error: an oversized body is
/// refused (413) from its Content-Length before it is read, or as soon as it passes the limit;
/// JSON nested deeper than <see cref="JsonInput.MaxDepth"/>, malformed JSON, or JSON of the wrong
/// shape gets a 400 in our own words: the JSON path at most, never a .NET type or a parser position.
/// </summary>
internal static partial class JsonBody
{
    public static async Task<T?> ReadAsync<T>(HttpRequest request, JsonTypeInfo<T> type, int maxBytes, bool optional = false)
    {
        var bytes = await ReadBytesAsync(request, maxBytes).ConfigureAwait(false);
        if (bytes.Length == 0)
        {
            if (optional) return default;
            throw new HttpRefusalException(StatusCodes.Status400BadRequest, Core.ErrorCodes.InvalidArgument, "The request body is empty; a JSON object is expected.");
        }
        CheckDepth(bytes);
        try
        {
            return JsonSerializer.Deserialize(bytes, type)
                ?? throw new HttpRefusalException(StatusCodes.Status400BadRequest, Core.ErrorCodes.InvalidArgument, "The request body is null; a JSON object is expected.");
        }
        catch (JsonException ex)
        {
            throw WrongShape(ex);
        }
    }

    /// <summary>The body parsed as a document, for inputs whose shape is checked by hand (AG-UI).</summary>
    public static async Task<JsonDocument> ReadDocumentAsync(HttpRequest request, int maxBytes)
    {
        var bytes = await ReadBytesAsync(request, maxBytes).ConfigureAwait(false);
        CheckDepth(bytes);
        return JsonDocument.Parse(bytes, new JsonDocumentOptions { MaxDepth = JsonInput.MaxDepth + 1 });
    }

    // One pass over the bytes first, so that malformed and too-deep JSON are told apart from JSON
    // of the wrong shape, each in our words (JsonException's text names .NET types and positions).
    private static void CheckDepth(byte[] bytes)
    {
        int depth = JsonInput.DepthOf(bytes);
        if (depth < 0) throw Invalid("The request body is not valid JSON.");
        if (depth > JsonInput.MaxDepth) throw Invalid(JsonInput.TooDeepMessage);
    }

    private static HttpRefusalException WrongShape(JsonException ex)
    {
        // The JSON path is the caller's own vocabulary; the exception's message is not.
        string where = ex.Path is { Length: > 1 } path ? $" at {path}" : "";
        var missing = MissingProperties().Match(ex.Message);
        return Invalid(missing.Success
            ? $"The request body's JSON lacks required fields: {missing.Groups[1].Value}."
            : $"The request body's JSON does not have the shape this endpoint expects: the value{where} has the wrong type.");
    }

    private static HttpRefusalException Invalid(string message) =>
        new(StatusCodes.Status400BadRequest, Core.ErrorCodes.InvalidArgument, message);

    [System.Text.RegularExpressions.GeneratedRegex("required properties including: ((?:'[A-Za-z0-9_]+'(?:, )?)+)")]
    private static partial System.Text.RegularExpressions.Regex MissingProperties();

    private static async Task<byte[]> ReadBytesAsync(HttpRequest request, int maxBytes)
    {
        if (request.ContentLength > maxBytes) throw TooLarge(maxBytes);
        var ct = request.HttpContext.RequestAborted;
        var buffer = new ArrayBufferWriter<byte>(Math.Min(maxBytes + 1, (int?)request.ContentLength ?? 4096) + 1);
        while (true)
        {
            var memory = buffer.GetMemory(4096);
            int read = await request.Body.ReadAsync(memory, ct).ConfigureAwait(false);
            if (read == 0) break;
            buffer.Advance(read);
            if (buffer.WrittenCount > maxBytes) throw TooLarge(maxBytes);
        }
        return buffer.WrittenSpan.ToArray();
    }

    private static HttpRefusalException TooLarge(int maxBytes) =>
        new(StatusCodes.Status413PayloadTooLarge, Core.ErrorCodes.LimitExceeded, $"The request body is larger than {maxBytes} bytes.");
}
