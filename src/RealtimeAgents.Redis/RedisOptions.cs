using System.Globalization;
using System.Net.Sockets;

namespace RealtimeAgents.Redis;

/// <summary>What a command does while the client has no connection.</summary>
public enum RedisDisconnectedBehavior
{
    /// <summary>Wait for the reconnect, up to <see cref="RedisOptions.DisconnectedWaitTimeout"/> and
    /// <see cref="RedisOptions.DisconnectedQueueLimit"/> waiting callers; then fail.</summary>
    Wait,

    /// <summary>Throw <see cref="RedisConnectionException"/> at once.</summary>
    FailFast,
}

/// <summary>Which RESP version to ask for.</summary>
public enum RedisProtocol
{
    /// <summary>Send <c>HELLO 3</c>; if the server refuses it, carry on with RESP2.</summary>
    Resp3,

    /// <summary>Never send HELLO; authenticate with AUTH.</summary>
    Resp2,
}

/// <summary>
/// Connection settings. Parse a string with <see cref="Parse"/>; all three forms are accepted:
/// <list type="bullet">
/// <item><c>host:port,password=...,user=...,database=N,name=...,connectTimeout=ms,commandTimeout=ms,abortConnect=false,protocol=resp2</c></item>
/// <item><c>redis://[user:password@]host[:port][/database]</c></item>
/// <item>a Unix socket: <c>/run/redis.sock</c> or <c>unix:///run/redis.sock</c></item>
/// </list>
/// </summary>
public sealed class RedisOptions
{
    public string Host { get; set; } = "127.0.0.1";

    public int Port { get; set; } = 6379;

    /// <summary>When set, connect to this Unix domain socket instead of <see cref="Host"/>:<see cref="Port"/>.</summary>
    public string? UnixSocketPath { get; set; }

    /// <summary>ACL user name for AUTH/HELLO; null means the default user.</summary>
    public string? User { get; set; }

    public string? Password { get; set; }

    /// <summary>SELECTed on every (re)connect when not 0.</summary>
    public int Database { get; set; }

    /// <summary>Sent with CLIENT SETNAME (or HELLO SETNAME) on every connection; shows in CLIENT LIST.</summary>
    public string? ClientName { get; set; }

    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How long a written command may wait for its reply.</summary>
    public TimeSpan CommandTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>When true (the default) <see cref="RedisClient.ConnectAsync"/> throws if the first connect fails;
    /// when false the client starts disconnected and keeps retrying in the background.</summary>
    public bool AbortOnConnectFail { get; set; } = true;

    public TimeSpan ReconnectMinDelay { get; set; } = TimeSpan.FromMilliseconds(100);

    public TimeSpan ReconnectMaxDelay { get; set; } = TimeSpan.FromSeconds(5);

    public RedisDisconnectedBehavior WhenDisconnected { get; set; } = RedisDisconnectedBehavior.Wait;

    /// <summary>Longest a command waits for a reconnect when <see cref="WhenDisconnected"/> is Wait.</summary>
    public TimeSpan DisconnectedWaitTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Most callers allowed to wait for a reconnect at once; the next ones fail immediately.</summary>
    public int DisconnectedQueueLimit { get; set; } = 10_000;

    public RedisProtocol Protocol { get; set; } = RedisProtocol.Resp3;

    /// <summary>Idle dedicated connections kept for blocking reads (XREAD BLOCK); more are opened on demand.</summary>
    public int MaxIdleBlockingConnections { get; set; } = 4;

    /// <summary>
    /// When false (the default) a caller's continuation after a reply runs on the thread pool, so slow user
    /// code can never stall the reader that serves every other caller. True runs it inline on the reader:
    /// lower latency, but only safe when continuations are short and never block.
    /// </summary>
    public bool InlineContinuations { get; set; }

    /// <summary>
    /// When commands are waiting and not one byte has arrived for this long, the connection is declared dead
    /// and replaced, even though the socket looks open (a host that vanished without a reset, a frozen
    /// server). Timed-out commands alone never replace a connection; this is the backstop. Not applied to
    /// blocking reads, which are silent by design. Default 15 s.
    /// </summary>
    public TimeSpan DeadConnectionTimeout { get; set; } = TimeSpan.FromSeconds(15);

    public RedisOptions Clone() => (RedisOptions)MemberwiseClone();

    /// <summary>The endpoint as text, for logs.</summary>
    public string EndpointDisplay => UnixSocketPath is not null ? "unix:" + UnixSocketPath : Host + ":" + Port.ToString(CultureInfo.InvariantCulture);

    public static RedisOptions Parse(string connectionString)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        string s = connectionString.Trim();
        var options = new RedisOptions();

        if (s.StartsWith("unix://", StringComparison.OrdinalIgnoreCase))
        {
            options.UnixSocketPath = s["unix://".Length..];
            return options;
        }

        if (s.StartsWith('/'))
        {
            int comma = s.IndexOf(',', StringComparison.Ordinal);
            options.UnixSocketPath = comma < 0 ? s : s[..comma];
            if (comma >= 0)
            {
                ApplyPairs(options, s[(comma + 1)..]);
            }

            return options;
        }

        if (s.StartsWith("redis://", StringComparison.OrdinalIgnoreCase))
        {
            ParseUrl(options, s);
            return options;
        }

        string[] parts = s.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        int first = 0;
        if (parts.Length > 0 && !parts[0].Contains('=', StringComparison.Ordinal))
        {
            SetEndpoint(options, parts[0]);
            first = 1;
        }

        ApplyPairs(options, string.Join(',', parts[first..]));
        return options;
    }

    private static void ParseUrl(RedisOptions options, string s)
    {
        var uri = new Uri(s);
        options.Host = uri.Host;
        options.Port = uri.IsDefaultPort || uri.Port <= 0 ? 6379 : uri.Port;
        if (!string.IsNullOrEmpty(uri.UserInfo))
        {
            string info = Uri.UnescapeDataString(uri.UserInfo);
            int colon = info.IndexOf(':', StringComparison.Ordinal);
            if (colon < 0)
            {
                options.Password = info;
            }
            else
            {
                string user = info[..colon];
                options.User = user.Length == 0 ? null : user;
                options.Password = info[(colon + 1)..];
            }
        }

        string path = uri.AbsolutePath.Trim('/');
        if (path.Length > 0)
        {
            options.Database = int.Parse(path, NumberStyles.None, CultureInfo.InvariantCulture);
        }
    }

    private static void SetEndpoint(RedisOptions options, string endpoint)
    {
        int colon = endpoint.LastIndexOf(':');
        if (colon > 0 && !endpoint.EndsWith(']'))
        {
            options.Host = endpoint[..colon].Trim('[', ']');
            options.Port = int.Parse(endpoint[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture);
        }
        else
        {
            options.Host = endpoint.Trim('[', ']');
        }
    }

    private static void ApplyPairs(RedisOptions options, string pairs)
    {
        foreach (string pair in pairs.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            int eq = pair.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
            {
                throw new FormatException($"Expected key=value in the Redis connection string, got '{pair}'.");
            }

            string key = pair[..eq].Trim();
            string value = pair[(eq + 1)..].Trim();
            switch (key.ToUpperInvariant())
            {
                case "PASSWORD":
                    options.Password = value;
                    break;
                case "USER":
                    options.User = value;
                    break;
                case "DATABASE":
                case "DEFAULTDATABASE":
                    options.Database = ParseInt(key, value);
                    break;
                case "NAME":
                    options.ClientName = value;
                    break;
                case "CONNECTTIMEOUT":
                    options.ConnectTimeout = TimeSpan.FromMilliseconds(ParseInt(key, value));
                    break;
                case "COMMANDTIMEOUT":
                case "SYNCTIMEOUT":
                case "ASYNCTIMEOUT":
                    options.CommandTimeout = TimeSpan.FromMilliseconds(ParseInt(key, value));
                    break;
                case "ABORTCONNECT":
                    options.AbortOnConnectFail = bool.Parse(value);
                    break;
                case "PROTOCOL":
                    options.Protocol = value.ToUpperInvariant() switch
                    {
                        "RESP2" or "2" => RedisProtocol.Resp2,
                        "RESP3" or "3" => RedisProtocol.Resp3,
                        _ => throw new FormatException($"Unknown protocol '{value}'."),
                    };
                    break;
                default:
                    throw new FormatException($"Unknown Redis connection string option '{key}'.");
            }
        }
    }

    private static int ParseInt(string key, string value) =>
        int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v)
            ? v
            : throw new FormatException($"Option '{key}' needs an integer, got '{value}'.");

    internal EndPointInfo GetEndPoint() => new(UnixSocketPath, Host, Port);

    internal readonly record struct EndPointInfo(string? UnixPath, string Host, int Port)
    {
        public System.Net.EndPoint Create() => UnixPath is not null
            ? new UnixDomainSocketEndPoint(UnixPath)
            : System.Net.IPAddress.TryParse(Host, out System.Net.IPAddress? ip)
                ? new System.Net.IPEndPoint(ip, Port)
                : new System.Net.DnsEndPoint(Host, Port);
    }
}
