using System.Buffers;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace RealtimeAgents.Server.Http;

/// <summary>
/// Reads a JSON request body with a size limit and a readable error: an oversized body is
/// refused (413) from its Content-Length before it is read, or as soon as it passes the limit;
/// malformed JSON gets a 400 naming the position and the problem.
/// </summary>
internal static class JsonBody
{
    public static async Task<T?> ReadAsync<T>(HttpRequest request, JsonTypeInfo<T> type, int maxBytes, bool optional = false)
    {
        var bytes = await ReadBytesAsync(request, maxBytes).ConfigureAwait(false);
        if (bytes.Length == 0)
        {
            if (optional) return default;
            throw new HttpRefusalException(StatusCodes.Status400BadRequest, Core.ErrorCodes.InvalidArgument, "The request body is empty; a JSON object is expected.");
        }
        try
        {
            return JsonSerializer.Deserialize(bytes, type)
                ?? throw new HttpRefusalException(StatusCodes.Status400BadRequest, Core.ErrorCodes.InvalidArgument, "The request body is null; a JSON object is expected.");
        }
        catch (JsonException ex)
        {
            throw Malformed(ex);
        }
    }

    /// <summary>The body parsed as a document, for inputs whose shape is checked by hand (AG-UI).</summary>
    public static async Task<JsonDocument> ReadDocumentAsync(HttpRequest request, int maxBytes)
    {
        var bytes = await ReadBytesAsync(request, maxBytes).ConfigureAwait(false);
        try
        {
            return JsonDocument.Parse(bytes);
        }
        catch (JsonException ex)
        {
            throw Malformed(ex);
        }
    }

    private static HttpRefusalException Malformed(JsonException ex)
    {
        // JsonException's message names the path and position without echoing the body back.
        string where = ex.Path is { Length: > 0 } path ? $" at {path}" : "";
        string reason = ex.Message.Split(" Path:", 2)[0];
        return new HttpRefusalException(StatusCodes.Status400BadRequest, Core.ErrorCodes.InvalidArgument,
            $"The request body is not valid JSON for this endpoint{where} (line {ex.LineNumber + 1}, byte {ex.BytePositionInLine + 1}): {reason}");
    }

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
