using Microsoft.AspNetCore.Http.Extensions;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.WebUtilities;

namespace RealtimeAgents.Server.Auth;

/// <summary>
/// Takes the <c>access_token</c> query parameter (browsers' WebSockets and EventSources cannot
/// send headers) out of the request before anything can log it: ASP.NET's "Request starting"
/// line (Information), routing and SignalR (Debug) all print the query string. The parameter
/// stays, with the value "redacted"; the token itself is kept in <see cref="Token"/> for the
/// JwtBearer handler (<see cref="AuthExtensions"/>). This is an <see cref="IHttpContextFactory"/>
/// because the hosting layer logs the request before the first middleware runs.
/// </summary>
internal sealed class AccessTokenRedaction(IServiceProvider services) : IHttpContextFactory
{
    /// <summary>The query parameter.</summary>
    public const string Parameter = "access_token";

    /// <summary>What the parameter's value reads as afterwards.</summary>
    public const string Redacted = "redacted";

    private readonly DefaultHttpContextFactory _inner = new(services);

    /// <summary>The token a request carried in its query string, or null.</summary>
    public static string? Token(HttpContext http) => http?.Features.Get<QueryToken>()?.Value;

    public HttpContext Create(IFeatureCollection featureCollection)
    {
        ArgumentNullException.ThrowIfNull(featureCollection);
        var request = featureCollection.Get<IHttpRequestFeature>();
        if (request is not null && request.QueryString.Contains(Parameter + "=", StringComparison.OrdinalIgnoreCase))
        {
            var query = QueryHelpers.ParseQuery(request.QueryString);
            if (query.TryGetValue(Parameter, out var token) && token.Count > 0)
            {
                featureCollection.Set(new QueryToken(token[0] ?? ""));
                var builder = new QueryBuilder();
                foreach (var (key, values) in query)
                {
                    if (string.Equals(key, Parameter, StringComparison.OrdinalIgnoreCase)) builder.Add(key, Redacted);
                    else foreach (var v in values) builder.Add(key, v ?? "");
                }
                string redacted = builder.ToQueryString().Value ?? "";
                int q = request.RawTarget.IndexOf('?', StringComparison.Ordinal);
                if (q >= 0) request.RawTarget = request.RawTarget[..q] + redacted;
                request.QueryString = redacted;
            }
        }
        return _inner.Create(featureCollection);
    }

    public void Dispose(HttpContext httpContext) => _inner.Dispose(httpContext);

    private sealed record QueryToken(string Value);
}
