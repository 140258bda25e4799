namespace RealtimeAgents.Server.Http;

/// <summary>Settings of the HTTP surface (configuration section RealtimeAgents:Http). Each has a safe default.</summary>
public sealed class HttpSurfaceOptions
{
    /// <summary>
    /// How long an event stream may stay silent before the server writes a ": keep-alive" comment,
    /// so proxies and load balancers that close idle connections leave it open (15 s).
    /// </summary>
    public TimeSpan KeepAliveInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// Largest JSON body of the REST endpoints, in bytes. Zero (the default) means room for the
    /// largest valid input and its envelope: twice Tasks:MaxInputBytes plus 16 KiB.
    /// </summary>
    public int MaxRequestBodyBytes { get; set; }

    /// <summary>Largest AG-UI RunAgentInput, in bytes; it carries the whole conversation (1 MiB).</summary>
    public int MaxAgUiBodyBytes { get; set; } = 1024 * 1024;

    /// <summary>The agent that POST /ag-ui runs.</summary>
    public string AgUiDefaultAgent { get; set; } = "demo";
}
