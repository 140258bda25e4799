using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace RealtimeAgents.Server.Auth;

/// <summary>
/// Authenticates server-to-server callers by the X-Api-Key header. Keys are compared as SHA-256
/// digests in fixed time, so neither a key's length nor a shared prefix shows in the timing.
/// </summary>
internal sealed class ApiKeyHandler(IOptionsMonitor<AuthenticationSchemeOptions> schemeOptions, ILoggerFactory logger,
    UrlEncoder encoder, IOptions<AuthOptions> auth)
    : AuthenticationHandler<AuthenticationSchemeOptions>(schemeOptions, logger, encoder)
{
    public const string SchemeName = "ApiKey";
    public const string Header = "X-Api-Key";

    private readonly (byte[] Digest, ApiKeyOptions Key)[] _keys =
        [.. auth.Value.ApiKeys.Select(k => (Digest(k.Key), k))];

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (!Request.Headers.TryGetValue(Header, out var values)) return Task.FromResult(AuthenticateResult.NoResult());
        byte[] presented = Digest(values.ToString());
        ApiKeyOptions? match = null;
        foreach (var (digest, key) in _keys)
        {
            // No early exit: every configured key is compared, whichever matches.
            if (CryptographicOperations.FixedTimeEquals(digest, presented)) match = key;
        }
        if (match is null) return Task.FromResult(AuthenticateResult.Fail("The API key is not valid."));
        var o = auth.Value;
        var claims = new List<Claim> { new(o.UserIdClaim, match.UserId) };
        claims.AddRange(match.Groups.Select(g => new Claim(o.GroupsClaim, g)));
        var principal = new ClaimsPrincipal(new ClaimsIdentity(claims, SchemeName, o.UserIdClaim, "role"));
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(principal, SchemeName)));
    }

    protected override Task HandleChallengeAsync(AuthenticationProperties properties) =>
        AuthProblems.WriteUnauthorizedAsync(Context, "The API key is not valid.");

    private static byte[] Digest(string key) => SHA256.HashData(Encoding.UTF8.GetBytes(key));
}
