using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using RealtimeAgents.Core.Runtime;

namespace RealtimeAgents.Agents.Llm;

/// <summary>
/// Turns what an OpenAI-compatible endpoint says when it refuses or fails into an
/// <see cref="AgentException"/> the user can act on. The endpoints disagree on the error body:
/// OpenAI and Azure send <c>{"error":{"message","type","code"}}</c>, Ollama sometimes
/// <c>{"error":"…"}</c>, vLLM <c>{"object":"error","message","type","code":404}</c>; all are read.
/// </summary>
internal static class LlmErrors
{
    /// <summary>The codes of task.failed this agent writes.</summary>
    public const string BadApiKey = "bad_api_key";
    public const string UnknownModel = "unknown_model";
    public const string RateLimited = "rate_limited";
    public const string ContextTooLong = "context_too_long";
    public const string ModelError = "model_error";

    public static AgentException NotConfigured() => new(BadApiKey,
        "No API key is configured for the llm agent. Set RealtimeAgents:Llm:ApiKey (environment RealtimeAgents__Llm__ApiKey) " +
        "or OPENAI_API_KEY, or point RealtimeAgents:Llm:BaseUrl at a local server such as Ollama (http://localhost:11434/v1).");

    public static AgentException BadBaseUrl(string baseUrl) => new(ModelError,
        $"RealtimeAgents:Llm:BaseUrl '{baseUrl}' is not an absolute http or https URL (for example http://localhost:11434/v1).");

    public static AgentException Unreachable(string baseUrl, Exception ex) => new(ModelError,
        $"Could not reach the model endpoint at {baseUrl}: {ex.Message}", ex);

    public static AgentException Timeout(string baseUrl, TimeSpan after) => new(ModelError,
        $"The model endpoint at {baseUrl} did not answer within {after.TotalSeconds:0.#} s.");

    public static AgentException StreamBroken(Exception? ex) => new(ModelError,
        ex is null ? "The model's stream ended before the model finished its answer."
                   : $"The model's stream broke off: {ex.Message}", ex);

    public static AgentException BadChunk(JsonException ex) => new(ModelError,
        $"The model endpoint sent a stream chunk that is not valid JSON: {ex.Message}", ex);

    /// <summary>A non-success HTTP status with its body.</summary>
    public static AgentException FromResponse(HttpStatusCode status, string body, HttpResponseHeaders headers, string model, string baseUrl)
    {
        var (message, type, code) = ReadError(body);
        int s = (int)status;
        string detail = Detail(message, body);
        if (IsContextTooLong(code, message)) return ContextTooLongError(model, detail);
        if (code == "model_not_found" || status == HttpStatusCode.NotFound)
        {
            return new AgentException(UnknownModel,
                $"The model '{model}' is not available at {baseUrl} ({s}): {detail} Check RealtimeAgents:Llm:Model and RealtimeAgents:Llm:BaseUrl.");
        }
        if (status is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden || code == "invalid_api_key")
        {
            return new AgentException(BadApiKey,
                $"The model endpoint at {baseUrl} refused the API key ({s}): {detail} Check RealtimeAgents:Llm:ApiKey (or OPENAI_API_KEY).");
        }
        if (status == HttpStatusCode.TooManyRequests)
        {
            string after = RetryAfter(headers) is { } wait ? $" Retry after {Seconds(wait)} s." : "";
            string what = code == "insufficient_quota" || type == "insufficient_quota" ? "says the quota is used up" : "is rate limiting requests";
            return new AgentException(RateLimited, $"The model endpoint {what} (429): {detail}{after}");
        }
        return new AgentException(ModelError, $"The model endpoint failed ({s}): {detail}");
    }

    /// <summary>An <c>error</c> object sent inside the stream after a 200.</summary>
    public static AgentException FromStreamError(JsonElement error, string model)
    {
        var (message, type, code) = ReadErrorObject(error);
        string detail = Detail(message, error.GetRawText());
        if (IsContextTooLong(code, message)) return ContextTooLongError(model, detail);
        if (code is "rate_limit_exceeded" || type is "rate_limit_error" or "rate_limit_exceeded")
        {
            return new AgentException(RateLimited, $"The model endpoint is rate limiting requests: {detail}");
        }
        return new AgentException(ModelError, $"The model failed mid-answer: {detail}");
    }

    private static AgentException ContextTooLongError(string model, string detail) => new(ContextTooLong,
        $"The conversation is too long for the model '{model}': {detail} Start a new thread or use a model with a longer context.");

    private static bool IsContextTooLong(string? code, string? message) =>
        code is "context_length_exceeded" or "string_above_max_length" ||
        (message is not null && (message.Contains("context length", StringComparison.OrdinalIgnoreCase) ||
                                 message.Contains("context window", StringComparison.OrdinalIgnoreCase)));

    private static string Detail(string? message, string raw)
    {
        string text = !string.IsNullOrWhiteSpace(message) ? message.Trim() : raw.Trim();
        if (text.Length == 0) return "(no details)";
        if (text.Length > 500) text = text[..500] + "…";
        return text.EndsWith('.') || text.EndsWith('…') ? text : text + ".";
    }

    private static string Seconds(TimeSpan t) => Math.Ceiling(t.TotalSeconds).ToString(CultureInfo.InvariantCulture);

    /// <summary><c>retry-after-ms</c> (OpenAI), else <c>Retry-After</c> as seconds or an HTTP date.</summary>
    internal static TimeSpan? RetryAfter(HttpResponseHeaders headers)
    {
        if (headers.TryGetValues("retry-after-ms", out var ms) &&
            double.TryParse(ms.FirstOrDefault(), NumberStyles.Float, CultureInfo.InvariantCulture, out double msValue) && msValue >= 0)
        {
            return TimeSpan.FromMilliseconds(msValue);
        }
        if (headers.RetryAfter is { } ra)
        {
            if (ra.Delta is { } delta) return delta;
            if (ra.Date is { } date) return date - DateTimeOffset.UtcNow is { Ticks: > 0 } left ? left : TimeSpan.Zero;
        }
        return null;
    }

    private static (string? Message, string? Type, string? Code) ReadError(string body)
    {
        try
        {
            using var doc = JsonDocument.Parse(body);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) return (null, null, null);
            if (root.TryGetProperty("error", out var error))
            {
                return error.ValueKind == JsonValueKind.String ? (error.GetString(), null, null) : ReadErrorObject(error);
            }
            return ReadErrorObject(root);
        }
        catch (JsonException)
        {
            return (null, null, null);
        }
    }

    private static (string? Message, string? Type, string? Code) ReadErrorObject(JsonElement error)
    {
        if (error.ValueKind != JsonValueKind.Object) return (error.ValueKind == JsonValueKind.String ? error.GetString() : null, null, null);
        return (Str(error, "message"), Str(error, "type"), Str(error, "code"));

        static string? Str(JsonElement e, string name) => e.TryGetProperty(name, out var v) ? v.ValueKind switch
        {
            JsonValueKind.String => v.GetString(),
            JsonValueKind.Number => v.GetRawText(),
            _ => null,
        } : null;
    }
}
