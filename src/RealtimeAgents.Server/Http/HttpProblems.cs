using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.WebUtilities;
using RealtimeAgents.Core;

namespace RealtimeAgents.Server.Http;

/// <summary>A refusal of the HTTP layer itself (malformed JSON, oversized body), answered like the product's own.</summary>
internal sealed class HttpRefusalException(int status, string code, string message) : Exception(message)
{
    public int Status { get; } = status;
    public string Code { get; } = code;
}

/// <summary>
/// RFC 9457 Problem Details for every refusal of the HTTP endpoints:
/// <c>{"type":"about:blank","title":…,"status":…,"detail":…,"instance":…,"code":…}</c> as
/// <c>application/problem+json</c>. <c>code</c> is the product's error code (not_found,
/// invalid_argument, limit_exceeded, conflict, permission_denied, unauthenticated, unavailable (503 with
/// Retry-After: a store cannot be reached), internal). Never a stack trace.
/// </summary>
internal static partial class HttpProblems
{
    public const string ContentType = "application/problem+json";

    /// <summary>
    /// Problem bodies are read by people in curl as much as by programs: apostrophes, quotes and
    /// non-ASCII letters are written as themselves, not as \u0027. Only what JSON itself requires
    /// is escaped; the body is never embedded in HTML, where the default encoder's caution matters.
    /// </summary>
    internal static readonly JsonWriterOptions Readable = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>The HTTP status of a product error.</summary>
    public static int StatusOf(RealtimeAgentsException error) => error.Code switch
    {
        ErrorCodes.NotFound => StatusCodes.Status404NotFound,
        ErrorCodes.InvalidArgument => StatusCodes.Status400BadRequest,
        ErrorCodes.Conflict => StatusCodes.Status409Conflict,
        // A count or rate frees up with time (429); a request too large stays too large (413).
        ErrorCodes.LimitExceeded => error.RetryLater ? StatusCodes.Status429TooManyRequests : StatusCodes.Status413PayloadTooLarge,
        ErrorCodes.PermissionDenied => StatusCodes.Status403Forbidden,
        ErrorCodes.Unauthenticated => StatusCodes.Status401Unauthorized,
        ErrorCodes.Unavailable => StatusCodes.Status503ServiceUnavailable,
        _ => StatusCodes.Status500InternalServerError,
    };

    public static IResult Result(int status, string code, string detail) => new ProblemResult(status, code, detail);

    /// <summary>
    /// What a count limit (active tasks, open streams) frees up in is not known; this is a polite
    /// guess for clients that honour Retry-After.
    /// </summary>
    public static readonly TimeSpan DefaultRetryAfter = TimeSpan.FromSeconds(5);

    /// <summary>Sets Retry-After in whole seconds (at least 1), so every 429 and 503 says when to come back.</summary>
    public static void SetRetryAfter(HttpContext http, TimeSpan? after)
    {
        ArgumentNullException.ThrowIfNull(http);
        double seconds = Math.Max(1, Math.Ceiling((after ?? DefaultRetryAfter).TotalSeconds));
        http.Response.Headers.RetryAfter = ((long)seconds).ToString(System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// Runs an endpoint and turns refusals into Problem Details. Once a response has started (an
    /// event stream), nothing can be said in Problem Details any more; the stream just ends.
    /// </summary>
    public static async ValueTask<object?> Filter(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        try
        {
            return await next(context).ConfigureAwait(false);
        }
        catch (RealtimeAgentsException ex) when (!http.Response.HasStarted)
        {
            int status = StatusOf(ex);
            if (status is StatusCodes.Status429TooManyRequests or StatusCodes.Status503ServiceUnavailable) SetRetryAfter(http, ex.RetryAfter);
            return Result(status, ex.Code, ex.Message);
        }
        catch (HttpRefusalException ex) when (!http.Response.HasStarted)
        {
            return Result(ex.Status, ex.Code, ex.Message);
        }
        catch (OperationCanceledException) when (http.RequestAborted.IsCancellationRequested)
        {
            return Results.Empty; // the client left; nobody reads an answer
        }
        catch (Exception ex) when (!http.Response.HasStarted && StoreUnavailableException.From(ex) is { } unavailable)
        {
            LogStoreUnavailable(http.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("RealtimeAgents.Http"),
                http.Request.Method, LogText.Clean(http.Request.Path.Value), LogText.Clean(unavailable.InnerException?.Message ?? unavailable.Message));
            SetRetryAfter(http, StoreUnavailableException.RetryAfter);
            return Result(StatusCodes.Status503ServiceUnavailable, ErrorCodes.Unavailable, StoreUnavailableException.CallerMessage);
        }
        catch (Exception ex) when (!http.Response.HasStarted)
        {
            LogUnexpected(http.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("RealtimeAgents.Http"),
                ex, http.Request.Method, LogText.Clean(http.Request.Path.Value));
            return Result(StatusCodes.Status500InternalServerError, "internal", "An unexpected error occurred.");
        }
    }

    /// <summary>
    /// Answers an error status that nothing wrote a body for (no route matched, a method the route
    /// does not take, a request Kestrel refused) in the same Problem Details shape. Used with
    /// <c>UseStatusCodePages</c>, which calls it only while the response is still empty.
    /// </summary>
    public static Task WriteEmptyStatusAsync(StatusCodeContext context)
    {
        var http = context.HttpContext;
        int status = http.Response.StatusCode;
        if (status is StatusCodes.Status429TooManyRequests or StatusCodes.Status503ServiceUnavailable && !http.Response.Headers.ContainsKey("Retry-After"))
        {
            SetRetryAfter(http, null);
        }
        string method = http.Request.Method, path = http.Request.Path.Value ?? "/";
        (string code, string detail) = status switch
        {
            StatusCodes.Status404NotFound => (ErrorCodes.NotFound, $"Nothing answers {method} {path}."),
            StatusCodes.Status405MethodNotAllowed => ("method_not_allowed",
                $"{method} is not allowed on {path}" + (http.Response.Headers.Allow is { Count: > 0 } allow ? $"; allowed: {allow}." : ".")),
            StatusCodes.Status401Unauthorized => (ErrorCodes.Unauthenticated, "Credentials are missing or not valid."),
            StatusCodes.Status403Forbidden => (ErrorCodes.PermissionDenied, $"{method} {path} is not allowed for this caller."),
            StatusCodes.Status413PayloadTooLarge or StatusCodes.Status429TooManyRequests => (ErrorCodes.LimitExceeded, ReasonPhrases.GetReasonPhrase(status) + "."),
            >= 500 => ("internal", "An unexpected error occurred."),
            _ => ("invalid_argument", $"The request was refused: {ReasonPhrases.GetReasonPhrase(status)}."),
        };
        return Result(status, code, detail).ExecuteAsync(http);
    }

    [LoggerMessage(EventId = 2, EventName = "HttpStoreUnavailable", Level = LogLevel.Warning,
        Message = "{Method} {Path} answered 503: the store cannot be reached ({Reason}).")]
    private static partial void LogStoreUnavailable(ILogger logger, string method, string path, string reason);

    [LoggerMessage(EventId = 1, EventName = "HttpUnexpectedError", Level = LogLevel.Error,
        Message = "{Method} {Path} failed unexpectedly.")]
    private static partial void LogUnexpected(ILogger logger, Exception exception, string method, string path);

    private sealed class ProblemResult(int status, string code, string detail) : IResult
    {
        public async Task ExecuteAsync(HttpContext httpContext)
        {
            var response = httpContext.Response;
            response.StatusCode = status;
            response.ContentType = ContentType;
            await using var json = new Utf8JsonWriter(response.Body, Readable);
            json.WriteStartObject();
            json.WriteString("type", "about:blank");
            json.WriteString("title", ReasonPhrases.GetReasonPhrase(status));
            json.WriteNumber("status", status);
            json.WriteString("detail", detail);
            json.WriteString("instance", httpContext.Request.Path.Value);
            json.WriteString("code", code);
            json.WriteEndObject();
            await json.FlushAsync(httpContext.RequestAborted).ConfigureAwait(false);
        }
    }
}
