using System.Globalization;
using System.Net;
using System.Security.Claims;
using System.Text;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;
using RealtimeAgents.Contracts;
using RealtimeAgents.Core;

namespace RealtimeAgents.Server.Auth;

/// <summary>
/// Registration of authentication (JWT bearer tokens, API keys), the authorization policy every
/// hub and API endpoint carries, and the per-caller limits. docs/security.md describes the model.
/// </summary>
public static partial class AuthExtensions
{
    /// <summary>The authorization policy of the hub and the API endpoints.</summary>
    public const string Policy = "RealtimeAgents";

    private const string SelectorScheme = "RealtimeAgents";

    /// <summary>Adds authentication, authorization and limits from RealtimeAgents:Auth and RealtimeAgents:Limits.</summary>
    public static IServiceCollection AddRealtimeAgentsAuth(this IServiceCollection services, IConfiguration auth, IConfiguration limits)
    {
        services.Configure<AuthOptions>(auth);
        services.Configure<LimitOptions>(limits);
        var options = new AuthOptions();
        auth.Bind(options);
        Validate(options);

        services.AddSingleton<CallerResolver>();
        services.AddSingleton<IHttpContextFactory, AccessTokenRedaction>();
        services.AddSingleton<IUserIdProvider, CallerUserIdProvider>();
        services.AddSingleton<SubmitRateLimiter>();
        services.AddSingleton<EventStreamLimiter>();
        services.AddSingleton<AuthHubFilter>();
        services.Configure<HubOptions>(o => o.AddFilter<AuthHubFilter>());

        var authentication = services.AddAuthentication(o =>
        {
            if (!options.Enabled) return;
            o.DefaultScheme = SelectorScheme;
            o.DefaultChallengeScheme = SelectorScheme;
        });
        services.AddAuthorization(o => o.AddPolicy(Policy, p =>
        {
            if (options.Enabled) p.RequireAuthenticatedUser();
            else p.RequireAssertion(_ => true); // development mode: everyone is "anonymous"
        }));
        if (!options.Enabled) return services;

        authentication
            .AddPolicyScheme(SelectorScheme, "Bearer token or API key", o => o.ForwardDefaultSelector = http =>
                http.Request.Headers.ContainsKey(ApiKeyHandler.Header) ? ApiKeyHandler.SchemeName : JwtBearerDefaults.AuthenticationScheme)
            .AddScheme<AuthenticationSchemeOptions, ApiKeyHandler>(ApiKeyHandler.SchemeName, null)
            .AddJwtBearer(o =>
            {
                o.MapInboundClaims = false;
                o.Authority = string.IsNullOrEmpty(options.Authority) ? null : options.Authority;
                o.Audience = string.IsNullOrEmpty(options.Audience) ? null : options.Audience;
                o.RequireHttpsMetadata = options.RequireHttpsMetadata;
                o.TokenValidationParameters = new TokenValidationParameters
                {
                    NameClaimType = options.UserIdClaim,
                    ValidateIssuer = !string.IsNullOrEmpty(options.Issuer) || !string.IsNullOrEmpty(options.Authority),
                    ValidIssuer = string.IsNullOrEmpty(options.Issuer) ? null : options.Issuer,
                    ValidateAudience = !string.IsNullOrEmpty(options.Audience),
                    ValidAudience = string.IsNullOrEmpty(options.Audience) ? null : options.Audience,
                    ValidateLifetime = true,
                    RequireExpirationTime = true,
                    RequireSignedTokens = true,
                    ClockSkew = options.ClockSkew,
                    IssuerSigningKey = string.IsNullOrEmpty(options.SigningKey)
                        ? null
                        : new SymmetricSecurityKey(Encoding.UTF8.GetBytes(options.SigningKey)),
                    ValidAlgorithms = string.IsNullOrEmpty(options.SigningKey) ? null : AcceptedAlgorithms(options),
                };
                o.Events = new JwtBearerEvents
                {
                    OnMessageReceived = TokenFromQuery,
                    OnTokenValidated = context =>
                    {
                        if (context.Principal?.FindFirst(options.UserIdClaim)?.Value is not { Length: > 0 })
                        {
                            context.Fail($"The token has no '{options.UserIdClaim}' claim naming the user.");
                        }
                        return Task.CompletedTask;
                    },
                    OnChallenge = AuthProblems.OnChallenge,
                };
            });
        return services;
    }

    /// <summary>
    /// Browsers cannot set headers on a WebSocket or an EventSource, so the hub and the event
    /// streams also take the token as ?access_token=. Nowhere else: a token in a URL ends up in
    /// logs and histories. (Ours never logs it: <see cref="AccessTokenRedaction"/> takes it out of
    /// the request's query string before anything runs.)
    /// </summary>
    private static Task TokenFromQuery(MessageReceivedContext context)
    {
        var request = context.Request;
        if (string.IsNullOrEmpty(context.Token) && !request.Headers.ContainsKey("Authorization") &&
            AccessTokenRedaction.Token(context.HttpContext) is { } token &&
            (request.Path.StartsWithSegments(HubMethods.Path) || (HttpMethods.IsGet(request.Method) && request.Path.Value?.EndsWith("/events", StringComparison.Ordinal) == true)))
        {
            context.Token = token.ToString();
        }
        return Task.CompletedTask;
    }

    /// <summary>Bytes of key each HMAC algorithm needs: no fewer than its hash has (RFC 7518 §3.2).</summary>
    private static readonly (string Name, string Algorithm, int KeyBytes)[] Hmacs =
    [
        ("HS256", SecurityAlgorithms.HmacSha256, 32),
        ("HS384", SecurityAlgorithms.HmacSha384, 48),
        ("HS512", SecurityAlgorithms.HmacSha512, 64),
    ];

    /// <summary>The algorithms tokens signed with the key may use: those configured, or all the key is long enough for.</summary>
    internal static string[] AcceptedAlgorithms(AuthOptions options)
    {
        int bytes = Encoding.UTF8.GetByteCount(options.SigningKey ?? "");
        return options.SigningAlgorithms.Count > 0
            ? [.. Hmacs.Where(h => options.SigningAlgorithms.Contains(h.Name, StringComparer.OrdinalIgnoreCase)).Select(h => h.Algorithm)]
            : [.. Hmacs.Where(h => bytes >= h.KeyBytes).Select(h => h.Algorithm)];
    }

    private static void Validate(AuthOptions options)
    {
        if (!string.IsNullOrEmpty(options.SigningKey))
        {
            int bytes = Encoding.UTF8.GetByteCount(options.SigningKey);
            if (bytes < 32)
            {
                throw new InvalidOperationException("RealtimeAgents:Auth:SigningKey must be at least 32 bytes (256 bits) for HS256.");
            }
            foreach (string name in options.SigningAlgorithms)
            {
                var hmac = Hmacs.FirstOrDefault(h => string.Equals(h.Name, name, StringComparison.OrdinalIgnoreCase));
                if (hmac.Name is null)
                {
                    throw new InvalidOperationException(
                        $"RealtimeAgents:Auth:SigningAlgorithms lists '{name}'; a signing key signs HS256, HS384 or HS512 tokens.");
                }
                if (bytes < hmac.KeyBytes)
                {
                    throw new InvalidOperationException(
                        $"RealtimeAgents:Auth:SigningKey is {bytes} bytes, but {hmac.Name} (in RealtimeAgents:Auth:SigningAlgorithms) needs a key " +
                        $"of at least {hmac.KeyBytes} bytes ({hmac.KeyBytes * 8} bits). Use a longer key, or leave {hmac.Name} out.");
                }
            }
        }
        foreach (var key in options.ApiKeys)
        {
            if (key.Key.Length < 32 || string.IsNullOrEmpty(key.UserId))
            {
                throw new InvalidOperationException("Each RealtimeAgents:Auth:ApiKeys entry needs a Key of at least 32 characters and a UserId.");
            }
        }
    }

    /// <summary>
    /// Authentication and authorization middleware, and the guard against running without
    /// authentication where others can reach the server: development mode is for loopback only.
    /// </summary>
    public static WebApplication UseRealtimeAgentsAuth(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var options = app.Services.GetRequiredService<IOptions<AuthOptions>>().Value;
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("RealtimeAgents.Auth");
        if (!string.IsNullOrEmpty(options.SigningKey) && options.SigningAlgorithms.Count == 0)
        {
            int bytes = Encoding.UTF8.GetByteCount(options.SigningKey);
            var tooShort = Hmacs.Where(h => bytes < h.KeyBytes).Select(h => $"{h.Name} needs {h.KeyBytes}").ToList();
            if (tooShort.Count > 0) LogAlgorithmsLeftOut(logger, bytes, string.Join(", ", tooShort));
        }
        if (!options.Enabled)
        {
            // What the configuration asks for is checked before anything listens; what Kestrel
            // really bound (endpoints set in code) once it has.
            var configured = ConfiguredAddresses(app.Configuration);
            CheckAnonymous(app, options, logger, configured, beforeStart: true);
            app.Lifetime.ApplicationStarted.Register(() =>
            {
                var bound = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
                try
                {
                    CheckAnonymous(app, options, logger, [.. bound], beforeStart: false);
                }
                catch (InvalidOperationException)
                {
                    app.Lifetime.StopApplication();
                }
            });
        }
        app.UseAuthentication();
        app.UseAuthorization();
        return app;
    }

    private static void CheckAnonymous(WebApplication app, AuthOptions options, ILogger logger, IReadOnlyList<string> addresses, bool beforeStart)
    {
        var exposed = addresses.Where(a => !IsLoopback(a)).ToList();
        if (exposed.Count == 0)
        {
            if (beforeStart) LogDevelopmentMode(logger);
            return;
        }
        var callers = app.Services.GetRequiredService<CallerResolver>();
        callers.AnonymousCaller = Caller.Anonymous;
        if (options.AllowAnonymous)
        {
            LogAnonymousExposed(logger, string.Join(", ", exposed));
            return;
        }
        string message = $"Refusing to run without authentication on {string.Join(", ", exposed)}: anyone who can reach it could " +
            "read and steer every task. Configure RealtimeAgents:Auth:SigningKey, :Authority or :ApiKeys, listen on loopback " +
            "only (e.g. --urls http://127.0.0.1:5080), or set RealtimeAgents:Auth:AllowAnonymous=true to accept the risk.";
        LogRefused(logger, message);
        throw new InvalidOperationException(message);
    }

    /// <summary>
    /// Addresses the configuration asks Kestrel to listen on, with Kestrel's precedence:
    /// Kestrel:Endpoints replace urls, and urls replace http_ports/https_ports.
    /// </summary>
    internal static List<string> ConfiguredAddresses(IConfiguration config)
    {
        static string[] Split(string? value) => (value ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var endpoints = config.GetSection("Kestrel:Endpoints").GetChildren().Select(e => e["Url"]).OfType<string>().Where(u => u.Length > 0).ToList();
        if (endpoints.Count > 0) return endpoints;
        var urls = Split(config["urls"]);
        if (urls.Length > 0) return [.. urls];
        // A bare port binds every interface.
        return [.. Split(config["http_ports"]).Concat(Split(config["https_ports"])).Select(port => "http://*:" + port)];
    }

    /// <summary>Whether a listen address reaches only this machine.</summary>
    internal static bool IsLoopback(string address)
    {
        int scheme = address.IndexOf("://", StringComparison.Ordinal);
        string rest = scheme >= 0 ? address[(scheme + 3)..] : address;
        string host;
        if (rest.StartsWith('['))
        {
            int end = rest.IndexOf(']', StringComparison.Ordinal);
            host = end > 0 ? rest[1..end] : rest;
        }
        else
        {
            int end = rest.IndexOfAny([':', '/']);
            host = end >= 0 ? rest[..end] : rest;
        }
        if (string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase)) return true;
        return IPAddress.TryParse(host, out var ip) && IPAddress.IsLoopback(ip);
    }

    /// <summary>The moment the caller's token stops being valid (its exp claim), or null for API keys and development mode.</summary>
    internal static DateTimeOffset? ExpiryOf(ClaimsPrincipal? user) =>
        user?.FindFirst("exp")?.Value is { } exp && long.TryParse(exp, NumberStyles.Integer, CultureInfo.InvariantCulture, out long seconds)
            ? DateTimeOffset.FromUnixTimeSeconds(seconds)
            : null;

    [LoggerMessage(EventId = 40, EventName = "AuthenticationOff", Level = LogLevel.Warning,
        Message = "AUTHENTICATION IS OFF (development mode): every caller is the user \"anonymous\" and can read and steer every task. " +
            "This is allowed because the server listens on loopback only. Configure RealtimeAgents:Auth before exposing it.")]
    private static partial void LogDevelopmentMode(ILogger logger);

    [LoggerMessage(EventId = 41, EventName = "AnonymousAccessExposed", Level = LogLevel.Warning,
        Message = "AUTHENTICATION IS OFF on {Addresses} because RealtimeAgents:Auth:AllowAnonymous is true: anyone who can reach " +
            "the server can read and steer every task. All of them share the limits of the one user \"anonymous\".")]
    private static partial void LogAnonymousExposed(ILogger logger, string addresses);

    [LoggerMessage(EventId = 43, EventName = "SigningAlgorithmsLeftOut", Level = LogLevel.Information,
        Message = "The signing key is {Bytes} bytes, so tokens are accepted only with the HMAC algorithms it is long enough for ({Needs} bytes). " +
            "Use a longer RealtimeAgents:Auth:SigningKey to accept them.")]
    private static partial void LogAlgorithmsLeftOut(ILogger logger, int bytes, string needs);

    [LoggerMessage(EventId = 42, EventName = "AnonymousAccessRefused", Level = LogLevel.Critical, Message = "{Message}")]
    private static partial void LogRefused(ILogger logger, string message);
}
