namespace RealtimeAgents.Redis.Tests;

internal static class TestClients
{
    /// <summary>Options for a test: short timeouts and fast reconnects so failures show in seconds.</summary>
    public static RedisOptions Options(RedisServer server, RedisProtocol protocol = RedisProtocol.Resp3, Action<RedisOptions>? configure = null)
    {
        RedisOptions options = RedisOptions.Parse(server.ConnectionString);
        options.Protocol = protocol;
        options.CommandTimeout = TimeSpan.FromSeconds(3);
        options.ConnectTimeout = TimeSpan.FromSeconds(2);
        options.ReconnectMinDelay = TimeSpan.FromMilliseconds(20);
        options.ReconnectMaxDelay = TimeSpan.FromMilliseconds(250);
        options.DisconnectedWaitTimeout = TimeSpan.FromSeconds(5);
        configure?.Invoke(options);
        return options;
    }

    public static Task<RedisClient> ConnectAsync(RedisServer server, RedisProtocol protocol = RedisProtocol.Resp3, Action<RedisOptions>? configure = null) =>
        RedisClient.ConnectAsync(Options(server, protocol, configure)).DefaultTimeout();
}
