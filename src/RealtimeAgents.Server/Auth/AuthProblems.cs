using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.IdentityModel.Tokens;
using RealtimeAgents.Core;
using RealtimeAgents.Server.Http;

namespace RealtimeAgents.Server.Auth;

/// <summary>401 answers as Problem Details, saying what was wrong with the credentials but nothing about the server.</summary>
internal static class AuthProblems
{
    public static Task WriteUnauthorizedAsync(HttpContext http, string detail)
    {
        if (http.Response.HasStarted) return Task.CompletedTask;
        http.Response.Headers.WWWAuthenticate = "Bearer";
        return HttpProblems.Result(StatusCodes.Status401Unauthorized, ErrorCodes.Unauthenticated, detail).ExecuteAsync(http);
    }

    /// <summary>The JwtBearer challenge: why the token was refused, in our words (the library's messages name internals).</summary>
    public static Task OnChallenge(JwtBearerChallengeContext context)
    {
        context.HandleResponse();
        string detail = SignedWithRefusedAlgorithm(context) ? "The access token is signed with an algorithm this service does not accept." : context.AuthenticateFailure switch
        {
            null => "This endpoint requires a bearer token (Authorization header, or access_token in the query for WebSockets and event streams) or an X-Api-Key header.",
            SecurityTokenExpiredException => "The access token has expired; get a new one.",
            SecurityTokenNotYetValidException => "The access token is not valid yet.",
            SecurityTokenInvalidSignatureException or SecurityTokenSignatureKeyNotFoundException => "The access token's signature is not valid.",
            SecurityTokenInvalidAudienceException => "The access token is not meant for this service (audience).",
            SecurityTokenInvalidIssuerException => "The access token comes from an issuer this service does not trust.",
            SecurityTokenNoExpirationException => "The access token has no expiry; tokens must expire.",
            SecurityTokenMalformedException or ArgumentException => "The access token is malformed.",
            _ => context.AuthenticateFailure.Message.StartsWith("The token", StringComparison.Ordinal)
                ? context.AuthenticateFailure.Message // our own messages (OnTokenValidated)
                : "The access token is not valid.",
        };
        return WriteUnauthorizedAsync(context.HttpContext, detail);
    }

    /// <summary>
    /// Whether the token names an HMAC algorithm the server does not accept (its key is too short
    /// for it, say): the library reports that as a bad signature, which would send people looking
    /// for the wrong problem.
    /// </summary>
    private static bool SignedWithRefusedAlgorithm(JwtBearerChallengeContext context)
    {
        if (context.AuthenticateFailure is null) return false;
        for (Exception? ex = context.AuthenticateFailure; ex is not null; ex = ex.InnerException)
        {
            if (ex is SecurityTokenInvalidAlgorithmException) return true;
        }
        var options = context.HttpContext.RequestServices.GetRequiredService<Microsoft.Extensions.Options.IOptions<AuthOptions>>().Value;
        if (string.IsNullOrEmpty(options.SigningKey)) return false;
        string? token = context.Request.Headers.Authorization.ToString() is { } h && h.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)
            ? h["Bearer ".Length..].Trim()
            : AccessTokenRedaction.Token(context.HttpContext);
        int dot = token?.IndexOf('.', StringComparison.Ordinal) ?? -1;
        if (dot <= 0) return false;
        try
        {
            using var header = System.Text.Json.JsonDocument.Parse(Base64UrlEncoder.DecodeBytes(token![..dot]));
            return header.RootElement.ValueKind == System.Text.Json.JsonValueKind.Object &&
                header.RootElement.TryGetProperty("alg", out var alg) && alg.ValueKind == System.Text.Json.JsonValueKind.String &&
                alg.GetString() is { } name && name.StartsWith("HS", StringComparison.Ordinal) &&
                !AuthExtensions.AcceptedAlgorithms(options).Contains(name, StringComparer.Ordinal);
        }
        catch (Exception ex) when (ex is FormatException or ArgumentException or System.Text.Json.JsonException)
        {
            return false;
        }
    }
}
