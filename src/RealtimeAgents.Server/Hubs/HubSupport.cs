using Microsoft.AspNetCore.SignalR;
using RealtimeAgents.Contracts;
using RealtimeAgents.Core;

namespace RealtimeAgents.Server.Hubs;

/// <summary>
/// Turns the product's refusals into HubExceptions carrying their message (SignalR hides the
/// message of any other exception, which is what we want for internals), and does the logging of
/// hub invocations that fail. A refusal is an expected outcome: one Debug line with no stack trace,
/// the caller's text escaped and capped (<see cref="LogText"/>), at most
/// <see cref="RefusalBudget.PerWindow"/> lines per connection per <see cref="RefusalBudget.Window"/>
/// and then one line saying how many were not logged. Anything else is a bug, logged at Error with
/// its stack trace. SignalR's own Error line for a failed invocation is switched off
/// (<see cref="RealtimeAgentsServer"/>), since it would log every refusal again, with a stack trace.
/// </summary>
public sealed partial class ErrorFilter(ILogger<ErrorFilter> logger, TimeProvider time) : IHubFilter
{
    /// <summary>The logger category whose per-invocation Error lines this filter replaces.</summary>
    public const string DispatcherCategory = "Microsoft.AspNetCore.SignalR.Internal.DefaultHubDispatcher";

    /// <inheritdoc />
    public async ValueTask<object?> InvokeMethodAsync(HubInvocationContext invocationContext,
        Func<HubInvocationContext, ValueTask<object?>> next)
    {
        ArgumentNullException.ThrowIfNull(invocationContext);
        ArgumentNullException.ThrowIfNull(next);
        try
        {
            return await next(invocationContext).ConfigureAwait(false);
        }
        catch (RealtimeAgentsException ex)
        {
            Core.Observability.RealtimeAgentsTelemetry.CountRefusal(ex.Code);
            LogRefusal(invocationContext, ex.Code, ex.Message);
            throw new HubException($"{ex.Code}: {ex.Message}");
        }
        catch (HubException ex)
        {
            LogRefusal(invocationContext, "refused", ex.Message);
            throw;
        }
        catch (OperationCanceledException) when (invocationContext.Context.ConnectionAborted.IsCancellationRequested)
        {
            throw; // the caller went away; nobody reads the answer
        }
        catch (Exception ex) when (StoreUnavailableException.From(ex) is { } unavailable)
        {
            // An outage, not a bug: one short line (no stack trace), and a code clients retry on.
            LogStoreUnavailable(logger, invocationContext.HubMethodName, LogText.Clean(unavailable.InnerException?.Message ?? unavailable.Message));
            throw new HubException($"{ErrorCodes.Unavailable}: {StoreUnavailableException.CallerMessage}");
        }
        catch (Exception ex)
        {
            LogFailed(logger, ex, invocationContext.HubMethodName, invocationContext.Context.ConnectionId);
            throw;
        }
    }

    private void LogRefusal(HubInvocationContext invocation, string code, string message)
    {
        if (!logger.IsEnabled(LogLevel.Debug)) return;
        var budget = RefusalBudget.Of(invocation.Context);
        long now = time.GetTimestamp();
        switch (budget.Take(now, time))
        {
            case RefusalBudget.Verdict.Log:
                LogRefused(logger, invocation.HubMethodName, invocation.Context.ConnectionId, code, LogText.Clean(message));
                break;
            case RefusalBudget.Verdict.LogSummary:
                LogRefusalsSuppressed(logger, invocation.Context.ConnectionId, budget.TakeSuppressed(), RefusalBudget.Window);
                LogRefused(logger, invocation.HubMethodName, invocation.Context.ConnectionId, code, LogText.Clean(message));
                break;
            case RefusalBudget.Verdict.AnnounceLimit:
                LogRefusalLimit(logger, invocation.Context.ConnectionId, RefusalBudget.PerWindow, RefusalBudget.Window);
                break;
        }
    }

    [LoggerMessage(EventId = 20, EventName = "HubCallRefused", Level = LogLevel.Debug,
        Message = "{Method} by connection {ConnectionId} refused: {Code}: {Reason}")]
    private static partial void LogRefused(ILogger logger, string method, string connectionId, string code, string reason);

    [LoggerMessage(EventId = 21, EventName = "HubCallRefusalsSuppressed", Level = LogLevel.Debug,
        Message = "Connection {ConnectionId}: {Count} more refusals within {Window} were not logged.")]
    private static partial void LogRefusalsSuppressed(ILogger logger, string connectionId, int count, TimeSpan window);

    [LoggerMessage(EventId = 23, EventName = "HubCallRefusalsLimited", Level = LogLevel.Debug,
        Message = "Connection {ConnectionId} was refused {Count} times within {Window}; its further refusals there are counted, not logged.")]
    private static partial void LogRefusalLimit(ILogger logger, string connectionId, int count, TimeSpan window);

    [LoggerMessage(EventId = 24, EventName = "HubCallStoreUnavailable", Level = LogLevel.Warning,
        Message = "{Method} answered unavailable: the store cannot be reached ({Reason}).")]
    private static partial void LogStoreUnavailable(ILogger logger, string method, string reason);

    [LoggerMessage(EventId = 22, EventName = "HubCallFailed", Level = LogLevel.Error,
        Message = "{Method} by connection {ConnectionId} failed unexpectedly.")]
    private static partial void LogFailed(ILogger logger, Exception exception, string method, string connectionId);
}

/// <summary>How many refusals of one connection are logged per window; the rest are counted.</summary>
internal sealed class RefusalBudget
{
    public const int PerWindow = 10;
    public static readonly TimeSpan Window = TimeSpan.FromSeconds(10);

    public enum Verdict { Log, LogSummary, AnnounceLimit, Skip }

    private long _windowStart = long.MinValue;
    private int _logged;
    private int _suppressed;

    public static RefusalBudget Of(HubCallerContext context)
    {
        lock (context.Items)
        {
            if (context.Items.TryGetValue(typeof(RefusalBudget), out var b) && b is RefusalBudget budget) return budget;
            var created = new RefusalBudget();
            context.Items[typeof(RefusalBudget)] = created;
            return created;
        }
    }

    public Verdict Take(long now, TimeProvider time)
    {
        lock (this)
        {
            if (_windowStart == long.MinValue || time.GetElapsedTime(_windowStart, now) >= Window)
            {
                _windowStart = now;
                _logged = 1;
                return _suppressed > 0 ? Verdict.LogSummary : Verdict.Log;
            }
            if (_logged < PerWindow)
            {
                _logged++;
                return Verdict.Log;
            }
            return _suppressed++ == 0 ? Verdict.AnnounceLimit : Verdict.Skip;
        }
    }

    public int TakeSuppressed()
    {
        lock (this)
        {
            int n = _suppressed;
            _suppressed = 0;
            return n;
        }
    }
}
