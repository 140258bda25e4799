namespace RealtimeAgents.Server.Auth;

/// <summary>
/// Authentication settings (configuration section RealtimeAgents:Auth). Authentication is on as
/// soon as a signing key, an authority or an API key is configured. With none of them the server
/// runs in development mode: everyone is the user "anonymous", which it allows only when it
/// listens on loopback addresses alone, or when <see cref="AllowAnonymous"/> says so.
/// </summary>
public sealed class AuthOptions
{
    /// <summary>Symmetric key of HS256/384/512 tokens, at least 32 bytes of UTF-8 text.</summary>
    public string? SigningKey { get; set; }

    /// <summary>
    /// Algorithms accepted for tokens signed with <see cref="SigningKey"/>: HS256, HS384, HS512.
    /// An HMAC key must be at least as long as the hash (HS256 32 bytes, HS384 48, HS512 64), and
    /// startup fails, saying so, when the key is shorter than one listed here needs. Empty (the
    /// default): every one of them the key is long enough for.
    /// </summary>
    public List<string> SigningAlgorithms { get; } = [];

    /// <summary>An OpenID Connect authority whose published keys sign the tokens (its discovery document is fetched).</summary>
    public string? Authority { get; set; }

    /// <summary>Required issuer ("iss"); not checked when empty (an authority sets its own).</summary>
    public string? Issuer { get; set; }

    /// <summary>Required audience ("aud"); not checked when empty.</summary>
    public string? Audience { get; set; }

    /// <summary>Whether the authority's metadata must come over HTTPS (true).</summary>
    public bool RequireHttpsMetadata { get; set; } = true;

    /// <summary>The claim naming the user, who owns the tasks they submit ("sub").</summary>
    public string UserIdClaim { get; set; } = "sub";

    /// <summary>The claim listing the user's groups, which tasks can be shared with ("groups").</summary>
    public string GroupsClaim { get; set; } = "groups";

    /// <summary>Tolerance for clocks that disagree when checking a token's expiry (30 s).</summary>
    public TimeSpan ClockSkew { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Keys of server-to-server callers, sent in the X-Api-Key header.</summary>
    public List<ApiKeyOptions> ApiKeys { get; } = [];

    /// <summary>Run without authentication on a non-loopback address (everyone is "anonymous", sharing one set of limits).</summary>
    public bool AllowAnonymous { get; set; }

    /// <summary>Whether any way to authenticate is configured.</summary>
    public bool Enabled =>
        !string.IsNullOrEmpty(SigningKey) || !string.IsNullOrEmpty(Authority) || ApiKeys.Count > 0;
}

