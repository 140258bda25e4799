using System.Net;
using System.Threading.Channels;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using RealtimeAgents.Client;
using RealtimeAgents.Server.Backplane;
using RealtimeAgents.Testing;
using Xunit;

namespace RealtimeAgents.Backplane.Tests;

/// <summary>A small hub that lets a client drive every kind of send through the manager.</summary>
public sealed class ChatHub : Hub
{
    public string WhoAmI() => Context.ConnectionId;

    public Task Join(string group) => Groups.AddToGroupAsync(Context.ConnectionId, group);

    public Task AddToGroup(string connectionId, string group) => Groups.AddToGroupAsync(connectionId, group);

    public Task ToAll(string text) => Clients.All.SendAsync("message", text);

    public Task ToGroup(string group, string text) => Clients.Group(group).SendAsync("message", text);

    public Task ToUser(string user, string text) => Clients.User(user).SendAsync("message", text);
}

/// <summary>The user is whoever the X-Test-User header says (tests only).</summary>
public sealed class HeaderUserIdProvider : IUserIdProvider
{
    public string? GetUserId(HubConnectionContext connection) =>
        connection.GetHttpContext()?.Request.Headers["X-Test-User"].FirstOrDefault();
}

/// <summary>
/// Two real Kestrel hub nodes on one redis-server, with official HubConnection clients on each over
/// WebSockets: what a deployment behind a load balancer does.
/// </summary>
public sealed class EndToEndTests(RedisServerFixture redis) : IClassFixture<RedisServerFixture>, IAsyncLifetime
{
    private readonly string _prefix = RedisServer.UniquePrefix();
    private readonly List<WebApplication> _nodes = [];
    private readonly List<HubConnection> _clients = [];

    public async Task InitializeAsync()
    {
        for (int i = 0; i < 2; i++)
        {
            var builder = WebApplication.CreateBuilder();
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            builder.Logging.SetMinimumLevel(LogLevel.Warning);
            builder.Services.AddSingleton<IUserIdProvider, HeaderUserIdProvider>();
            builder.Services.AddSignalR().AddRedisBackplane(o =>
            {
                o.Configuration = redis.Server.ConnectionString;
                o.ChannelPrefix = _prefix;
            });
            var app = builder.Build();
            app.MapHub<ChatHub>("/hubs/chat");
            await app.StartAsync().DefaultTimeout(20_000);
            _nodes.Add(app);
        }
    }

    public async Task DisposeAsync()
    {
        foreach (HubConnection client in _clients)
        {
            await client.DisposeAsync().DefaultTimeout();
        }

        foreach (WebApplication app in _nodes)
        {
            await app.StopAsync().DefaultTimeout(20_000);
            await app.DisposeAsync().AsTask().DefaultTimeout();
        }
    }

    private async Task<ChatClient> ConnectAsync(int node, string? user = null)
    {
        string address = _nodes[node].Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        var url = new Uri(new Uri(address), "/hubs/chat");
        var headers = new Dictionary<string, string>();
        if (user is not null)
        {
            headers["X-Test-User"] = user;
        }

        var builder = new HubConnectionBuilder().WithUrl(url, o =>
        {
            o.SkipNegotiation = true;
            o.Transports = Microsoft.AspNetCore.Http.Connections.HttpTransportType.WebSockets;
            foreach (var (name, value) in headers) o.Headers[name] = value;
        });
        HubConnection connection = builder.Build();
        _clients.Add(connection);
        var client = new ChatClient(connection);
        await connection.StartAsync().DefaultTimeout();
        // SignalR completes the handshake before it hands the connection to the lifetime manager; the first
        // invocation is only served after that, so its answer means the node now routes to this client.
        await connection.InvokeAsync<string>("WhoAmI").DefaultTimeout();
        return client;
    }

    [Fact]
    public async Task ClientsAll_ReachesClientsOnBothNodes()
    {
        var one = await ConnectAsync(0);
        var two = await ConnectAsync(1);

        await one.Connection.InvokeAsync("ToAll", "hello everyone").DefaultTimeout();

        Assert.Equal("hello everyone", await one.NextAsync());
        Assert.Equal("hello everyone", await two.NextAsync());
    }

    [Fact]
    public async Task ClientsGroup_ReachesMembersOnBothNodes_AndNobodyElse()
    {
        var memberOnOne = await ConnectAsync(0);
        var memberOnTwo = await ConnectAsync(1);
        var outsider = await ConnectAsync(1);
        await memberOnOne.Connection.InvokeAsync("Join", "room").DefaultTimeout();
        await memberOnTwo.Connection.InvokeAsync("Join", "room").DefaultTimeout();

        await outsider.Connection.InvokeAsync("ToGroup", "room", "for the room").DefaultTimeout();
        await outsider.Connection.InvokeAsync("ToAll", "for all").DefaultTimeout();

        Assert.Equal("for the room", await memberOnOne.NextAsync());
        Assert.Equal("for the room", await memberOnTwo.NextAsync());
        // Same sender, same route for the outsider (it is on node two, which sent both): in order.
        Assert.Equal("for all", await outsider.NextAsync());
    }

    [Fact]
    public async Task ClientsUser_ReachesTheUsersConnectionsOnBothNodes()
    {
        var alicePhone = await ConnectAsync(0, "alice");
        var aliceLaptop = await ConnectAsync(1, "alice");
        var bob = await ConnectAsync(1, "bob");

        await bob.Connection.InvokeAsync("ToUser", "alice", "hi alice").DefaultTimeout();
        await bob.Connection.InvokeAsync("ToAll", "for all").DefaultTimeout();

        Assert.Equal("hi alice", await alicePhone.NextAsync());
        Assert.Equal("hi alice", await aliceLaptop.NextAsync());
        Assert.Equal("for all", await bob.NextAsync());
    }

    [Fact]
    public async Task AHubOnOneNode_AddsAConnectionOfTheOtherNodeToAGroup()
    {
        var onOne = await ConnectAsync(0);
        var onTwo = await ConnectAsync(1);
        string idOnOne = await onOne.Connection.InvokeAsync<string>("WhoAmI").DefaultTimeout();

        // Completes only after node one acknowledged, so the group send right after reaches it.
        await onTwo.Connection.InvokeAsync("AddToGroup", idOnOne, "vip").DefaultTimeout();
        await onTwo.Connection.InvokeAsync("ToGroup", "vip", "welcome").DefaultTimeout();

        Assert.Equal("welcome", await onOne.NextAsync());
    }

    private sealed class ChatClient
    {
        private readonly Channel<string> _messages = Channel.CreateUnbounded<string>();

        public ChatClient(HubConnection connection)
        {
            Connection = connection;
            connection.On<string>("message", text => _messages.Writer.TryWrite(text));
        }

        public HubConnection Connection { get; }

        public Task<string> NextAsync() => _messages.Reader.ReadAsync().AsTask().DefaultTimeout();
    }
}
