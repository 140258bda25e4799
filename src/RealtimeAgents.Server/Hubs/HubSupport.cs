using Microsoft.AspNetCore.SignalR;
using RealtimeAgents.Contracts;
using RealtimeAgents.Core;

namespace RealtimeAgents.Server.Hubs;

/// <summary>
/// Turns the product's refusals into HubExceptions carrying their message (SignalR hides the
/// message of any other exception, which is what we want for internals).
/// </summary>
public sealed class ErrorFilter : IHubFilter
{
    /// <inheritdoc />
    public async ValueTask<object?> InvokeMethodAsync(HubInvocationContext invocationContext,
        Func<HubInvocationContext, ValueTask<object?>> next)
    {
        try
        {
            return await next(invocationContext).ConfigureAwait(false);
        }
        catch (RealtimeAgentsException ex)
        {
            throw new HubException($"{ex.Code}: {ex.Message}");
        }
    }
}
