using Microsoft.Extensions.Options;
using RealtimeAgents.Contracts;
using RealtimeAgents.Core;
using RealtimeAgents.Core.Relay;

namespace RealtimeAgents.Server.Http;

/// <summary>How one kind of event stream (our SSE, AG-UI) renders a relay subscription.</summary>
internal interface IStreamFormat
{
    /// <summary>Written once the subscription stands, before any event. Returns false to end the stream at once.</summary>
    ValueTask<bool> OpenAsync(SseWriter writer, RelaySubscription subscription, CancellationToken ct);

    /// <summary>One event, in order, each exactly once.</summary>
    ValueTask DeliverAsync(SseWriter writer, EventRecord record, CancellationToken ct);

    /// <summary>The relay ended the subscription before the terminal event.</summary>
    ValueTask EndAsync(SseWriter writer, SubscriptionEnded ended, CancellationToken ct);
}

/// <summary>
/// Serves one relay subscription as a Server-Sent Events response: the same relay, hence the same
/// guarantees, as the hub. The subscription lives exactly as long as the request: it is disposed
/// when the terminal event was written, when the relay ends it, or the moment the client goes away.
/// </summary>
internal sealed class RelayStream(EventRelay relay, HttpStreamMetrics metrics, IOptions<HttpSurfaceOptions> options, TimeProvider time)
{
    public async Task RunAsync(HttpContext http, string taskId, Cursor cursor, IStreamFormat format)
    {
        var ct = http.RequestAborted;
        var writer = new SseWriter(http.Response, time);
        var sink = new Sink(writer, format, ct);
        var subscription = await relay.SubscribeAsync(taskId, cursor, sink, ct).ConfigureAwait(false);
        metrics.Opened();
        try
        {
            await writer.StartAsync(ct).ConfigureAwait(false);
            if (!await format.OpenAsync(writer, subscription, ct).ConfigureAwait(false)) return;
            sink.Open();
            await writer.KeepAliveUntilAsync(subscription.Completion, options.Value.KeepAliveInterval, ct).ConfigureAwait(false);
        }
        catch (Exception) when (ct.IsCancellationRequested)
        {
            // The client went away; the finally below stops the server-side work.
        }
        finally
        {
            await subscription.DisposeAsync().ConfigureAwait(false);
            metrics.Closed();
        }
    }

    /// <summary>
    /// The relay's view of the response. Events wait behind a gate until the opening frame is
    /// written, so nothing precedes it; after the client left, deliveries wait for the disposal
    /// that follows at once instead of failing, so the relay stops quietly.
    /// </summary>
    private sealed class Sink(SseWriter writer, IStreamFormat format, CancellationToken requestAborted) : IEventSink
    {
        private readonly TaskCompletionSource _open = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Open() => _open.TrySetResult();

        public async ValueTask DeliverAsync(EventRecord record, CancellationToken cancellationToken)
        {
            if (!_open.Task.IsCompleted) await _open.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                await format.DeliverAsync(writer, record, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception) when (requestAborted.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
            {
                await Task.Delay(Timeout.Infinite, cancellationToken).ConfigureAwait(false);
            }
        }

        public async ValueTask EndAsync(SubscriptionEnded ended, CancellationToken cancellationToken)
        {
            if (!_open.Task.IsCompleted) await _open.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
            await format.EndAsync(writer, ended, cancellationToken).ConfigureAwait(false);
        }
    }
}
