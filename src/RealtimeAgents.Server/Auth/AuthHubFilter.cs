using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Options;
using RealtimeAgents.Contracts;
using RealtimeAgents.Core;

namespace RealtimeAgents.Server.Auth;

/// <summary>
/// Runs before every hub method: refuses callers whose token expired since they connected (SignalR
/// authenticates a connection once, at its start), and counts SubmitTask and SendMessage against
/// the caller's submit rate. Subscriptions already running are not cut: they were authorized when
/// they began and end with their task; anything new, including a resubscribe, needs a valid token.
/// Releasing what the connection holds (Unsubscribe, UnsubscribeThread) needs no valid token: it
/// gives access up, and a client must be able to stop a subscription without disconnecting.
/// </summary>
public sealed class AuthHubFilter(CallerResolver callers, SubmitRateLimiter submits, IOptions<AuthOptions> options, TimeProvider time) : IHubFilter
{
    /// <inheritdoc />
    public ValueTask<object?> InvokeMethodAsync(HubInvocationContext invocationContext,
        Func<HubInvocationContext, ValueTask<object?>> next)
    {
        ArgumentNullException.ThrowIfNull(invocationContext);
        ArgumentNullException.ThrowIfNull(next);
        var user = invocationContext.Context.User;
        bool release = invocationContext.HubMethodName is HubMethods.Unsubscribe or HubMethods.UnsubscribeThread;
        if (!release && callers.AuthenticationEnabled && AuthExtensions.ExpiryOf(user) is { } expiry &&
            time.GetUtcNow() >= expiry + options.Value.ClockSkew)
        {
            throw new RealtimeAgentsException(ErrorCodes.Unauthenticated,
                "The access token expired while connected (token expired); reconnect with a new token.");
        }
        if (invocationContext.HubMethodName is HubMethods.SubmitTask or HubMethods.SendMessage)
        {
            submits.Acquire(callers.For(user));
        }
        return next(invocationContext);
    }
}
