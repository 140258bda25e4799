using StackExchange.Redis;

namespace RealtimeAgents.Core.Redis;

/// <summary>
/// Redis mode settings (configuration section RealtimeAgents:Redis*). The connection comes from,
/// in this order: an <see cref="IConnectionMultiplexer"/> registered by the application,
/// <see cref="ConfigurationOptions"/>, or the <see cref="Configuration"/> string.
/// </summary>
public sealed class RedisStoreOptions
{
    /// <summary>
    /// A StackExchange.Redis configuration string: "host:port,password=…,ssl=true,user=…",
    /// several endpoints for a cluster ("a:7000,b:7001"), or "sentinel:26379,serviceName=mymaster".
    /// </summary>
    public string Configuration { get; set; } = "";

    /// <summary>Full StackExchange.Redis options (TLS callbacks, ACL user, Sentinel, cluster endpoints); wins over <see cref="Configuration"/>.</summary>
    public ConfigurationOptions? ConfigurationOptions { get; set; }

    /// <summary>
    /// A PEM file with the certificate authority that signed the Redis server's TLS certificate,
    /// for a server whose certificate the machine does not already trust (use with <c>ssl=true</c>).
    /// </summary>
    public string? TlsCaFile { get; set; }

    /// <summary>Prefix of every key and channel.</summary>
    public string KeyPrefix { get; set; } = "ra:";

    /// <summary>How long a thread's keys live after its last task was created.</summary>
    public TimeSpan ThreadTtl { get; set; } = TimeSpan.FromDays(7);

    /// <summary>How long an idempotency key remembers its task.</summary>
    public TimeSpan IdempotencyTtl { get; set; } = TimeSpan.FromHours(24);

    /// <summary>The options a connection is made with: <see cref="ConfigurationOptions"/>, else <see cref="Configuration"/> parsed.</summary>
    public ConfigurationOptions ToConfigurationOptions()
    {
        if (ConfigurationOptions is { } given) return given;
        if (string.IsNullOrWhiteSpace(Configuration))
        {
            throw new InvalidOperationException(
                "Redis mode needs a connection: set RealtimeAgents:Redis (e.g. localhost:6379), or register an IConnectionMultiplexer.");
        }
        var options = ConfigurationOptions.Parse(Configuration);
        options.ClientName ??= "realtime-agents";
        // Keep retrying in the background when Redis is not up yet: the stores wait out short
        // outages (RedisRetry), they do not need the process to die at startup.
        options.AbortOnConnectFail = false;
        if (!string.IsNullOrEmpty(TlsCaFile)) options.TrustIssuer(TlsCaFile);
        return options;
    }
}
