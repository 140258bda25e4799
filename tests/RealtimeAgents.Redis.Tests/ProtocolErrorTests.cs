using System.Net;
using System.Net.Sockets;
using System.Text;

namespace RealtimeAgents.Redis.Tests;

/// <summary>What the client does when the bytes coming back are not RESP. The "server" here is a raw socket
/// that speaks just enough to get through the handshake, because no real Redis sends garbage.</summary>
public class ProtocolErrorTests
{
    [Fact]
    public async Task GarbageReply_FailsTheCallWithProtocolException_AndTheClientReconnects()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        using var stop = new CancellationTokenSource();
        Task server = ServeAsync(listener, stop.Token);

        var options = new RedisOptions { Host = "127.0.0.1", Port = port, ReconnectMinDelay = TimeSpan.FromMilliseconds(10), CommandTimeout = TimeSpan.FromSeconds(3) };
        await using (RedisClient client = await RedisClient.ConnectAsync(options).DefaultTimeout())
        {
            var ex = await Assert.ThrowsAsync<RedisProtocolException>(() => client.PingAsync().AsTask().DefaultTimeout());
            Assert.Contains("0x3F", ex.Message, StringComparison.Ordinal); // '?' is not a RESP type byte

            await Eventually.TrueAsync(async () =>
            {
                try
                {
                    await client.PingAsync();
                    return true;
                }
                catch (RedisConnectionException)
                {
                    return false;
                }
            });
            Assert.Equal(1, client.Reconnects);
        }

        await stop.CancelAsync();
        listener.Stop();
        await Assert.ThrowsAnyAsync<Exception>(() => server.DefaultTimeout());
    }

    /// <summary>Connection 1 answers the handshake, then garbage. Later connections answer +OK then +PONG forever.</summary>
    private static async Task ServeAsync(TcpListener listener, CancellationToken cancellationToken)
    {
        int connections = 0;
        var handlers = new List<Task>();
        while (!cancellationToken.IsCancellationRequested)
        {
            Socket socket = await listener.AcceptSocketAsync(cancellationToken);
            bool poisoned = ++connections == 1;
            handlers.Add(Task.Run(async () =>
            {
                using (socket)
                {
                    var buffer = new byte[4096];
                    int commands = 0;
                    while (true)
                    {
                        int n = await socket.ReceiveAsync(buffer, SocketFlags.None, cancellationToken);
                        if (n == 0)
                        {
                            return;
                        }

                        // Each request is one RESP array; none of ours contains another '*'.
                        for (int i = 0; i < n; i++)
                        {
                            if (buffer[i] != (byte)'*')
                            {
                                continue;
                            }

                            string reply = commands++ == 0 ? "+OK\r\n" : poisoned ? "?bogus\r\n" : "+PONG\r\n";
                            await socket.SendAsync(Encoding.ASCII.GetBytes(reply), SocketFlags.None, cancellationToken);
                        }
                    }
                }
            }, cancellationToken));
        }
    }
}
