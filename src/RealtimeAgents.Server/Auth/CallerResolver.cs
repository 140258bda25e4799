using System.Security.Claims;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Options;
using RealtimeAgents.Core;

namespace RealtimeAgents.Server.Auth;

/// <summary>
/// Turns the authenticated principal of a request or hub connection into the <see cref="Caller"/>
/// the task service checks access for. Every transport goes through here, so the hub, REST, SSE
/// and AG-UI agree on who someone is.
/// </summary>
public sealed class CallerResolver(IOptions<AuthOptions> options)
{
    private readonly AuthOptions _options = options.Value;

    /// <summary>Whether callers must authenticate.</summary>
    public bool AuthenticationEnabled => _options.Enabled;

    /// <summary>
    /// Who an unauthenticated caller is when authentication is off: the one local developer in
    /// development mode (loopback only, unmetered), or the shared anonymous user when anonymous
    /// access on other addresses was allowed explicitly (metered, all together).
    /// </summary>
    internal Caller AnonymousCaller { get; set; } = Caller.Developer;

    /// <summary>The caller behind <paramref name="user"/>.</summary>
    public Caller For(ClaimsPrincipal? user)
    {
        if (!_options.Enabled) return AnonymousCaller;
        string? id = UserIdOf(user);
        // The authorization policy lets no unauthenticated request through, so this is a bug guard.
        if (id is null) throw new InvalidOperationException("an unauthenticated caller reached an operation that requires authentication");
        var groups = user!.FindAll(_options.GroupsClaim).Select(c => c.Value).Where(g => g.Length > 0).Distinct(StringComparer.Ordinal).ToArray();
        return new Caller(id, groups);
    }

    private string? UserIdOf(ClaimsPrincipal? user) =>
        user?.Identity?.IsAuthenticated == true && user.FindFirst(_options.UserIdClaim)?.Value is { Length: > 0 } id ? id : null;
}

/// <summary>SignalR's user id (for sends to a user across hub nodes) is the caller's user id.</summary>
internal sealed class CallerUserIdProvider(CallerResolver callers) : IUserIdProvider
{
    public string? GetUserId(HubConnectionContext connection) => callers.For(connection.User).UserId;
}
