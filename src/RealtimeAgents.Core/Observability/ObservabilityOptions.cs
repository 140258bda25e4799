namespace RealtimeAgents.Core.Observability;

/// <summary>Telemetry, scrape and health settings (section RealtimeAgents:Observability).</summary>
public sealed class ObservabilityOptions
{
    /// <summary>
    /// Whether the OpenTelemetry SDK collects the product's metrics and traces at all. Off, the
    /// instruments record into nothing (the on/off overhead comparison in docs/operations.md).
    /// </summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Serve the Prometheus scrape endpoint at /metrics. Null: on in Development only.</summary>
    public bool? PrometheusEndpoint { get; set; }

    /// <summary>
    /// When set, /metrics answers only requests with <c>Authorization: Bearer &lt;key&gt;</c>
    /// (Prometheus: <c>authorization: { credentials: … }</c>). Separate from the API keys of users.
    /// </summary>
    public string? MetricsApiKey { get; set; }

    /// <summary>How often the store is asked whether it is reachable (for /readyz and the log).</summary>
    public TimeSpan StoreCheckInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How long one such question may take before the store counts as unreachable.</summary>
    public TimeSpan StoreCheckTimeout { get; set; } = TimeSpan.FromSeconds(2);
}
