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
            Core.Observability.RealtimeAgentsTelemetry.CountRefusal(ex.Code);
            throw new HubException($"{ex.Code}: {ex.Message}");
        }
    }
}

/// <summary>Tells a thread's watchers (the SignalR group of the thread) about each new task.</summary>
public sealed class HubTaskNotifier(IHubContext<AgentHub> hub) : ITaskNotifier
{
    /// <summary>The group of a thread's watchers.</summary>
    public static string ThreadGroup(string threadId) => "thread:" + threadId;

    /// <inheritdoc />
    public ValueTask TaskCreatedAsync(ThreadTaskNotice notice, CancellationToken cancellationToken) =>
        new(hub.Clients.Group(ThreadGroup(notice.ThreadId)).SendAsync(HubMethods.ThreadTask, notice, cancellationToken));
}
