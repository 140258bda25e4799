using Microsoft.AspNetCore.SignalR;
using RealtimeAgents.Testing;
using Xunit;

namespace RealtimeAgents.Backplane.Tests;

/// <summary>
/// What every <see cref="HubLifetimeManager{THub}"/> must do on one node. Derived once per implementation:
/// the in-memory <c>DefaultHubLifetimeManager</c> and our Redis one; <see cref="ScaleoutBackplaneConformance"/>
/// adds what only a backplane spanning nodes can do.
/// </summary>
public abstract class BackplaneConformance : IAsyncLifetime
{
    private readonly List<(HubLifetimeManager<TestHub> Node, TestConnection Connection)> _connected = [];
    private readonly List<TestConnection> _all = [];

    /// <summary>A new node. Nodes made by one test share their backplane (if the implementation has one).</summary>
    protected abstract Task<HubLifetimeManager<TestHub>> CreateNodeAsync();

    /// <summary>Stops every node the test made.</summary>
    protected abstract Task DisposeNodesAsync();

    protected async Task<TestConnection> ConnectAsync(HubLifetimeManager<TestHub> node, string? userId = null)
    {
        var connection = new TestConnection(userId);
        _all.Add(connection);
        await node.OnConnectedAsync(connection.Context).DefaultTimeout();
        _connected.Add((node, connection));
        return connection;
    }

    protected async Task DisconnectAsync(HubLifetimeManager<TestHub> node, TestConnection connection)
    {
        _connected.Remove((node, connection));
        await node.OnDisconnectedAsync(connection.Context).DefaultTimeout();
    }

    protected static Task Send(Task send) => send.DefaultTimeout();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var (node, connection) in _connected.ToArray())
        {
            await node.OnDisconnectedAsync(connection.Context).DefaultTimeout();
        }

        foreach (TestConnection connection in _all)
        {
            await connection.DisposeAsync();
        }

        await DisposeNodesAsync().DefaultTimeout();
    }

    [Fact]
    public async Task SendAll_ReachesEveryConnection()
    {
        var node = await CreateNodeAsync();
        var a = await ConnectAsync(node);
        var b = await ConnectAsync(node);

        await Send(node.SendAllAsync("message", ["hello"]));

        await a.ExpectAsync("hello");
        await b.ExpectAsync("hello");
    }

    [Fact]
    public async Task SendAllExcept_SkipsTheExcludedConnections()
    {
        var node = await CreateNodeAsync();
        var a = await ConnectAsync(node);
        var b = await ConnectAsync(node);
        var c = await ConnectAsync(node);

        await Send(node.SendAllExceptAsync("message", ["one"], [b.Id]));
        await Send(node.SendAllAsync("message", ["two"]));

        await a.ExpectAsync("one");
        await a.ExpectAsync("two");
        await c.ExpectAsync("one");
        await b.ExpectAsync("two");
        await b.ExpectNothingMoreAsync();
    }

    [Fact]
    public async Task SendConnection_ReachesThatConnectionOnly()
    {
        var node = await CreateNodeAsync();
        var a = await ConnectAsync(node);
        var b = await ConnectAsync(node);

        await Send(node.SendConnectionAsync(a.Id, "message", ["for a"]));
        await Send(node.SendConnectionAsync(b.Id, "message", ["for b"]));

        await a.ExpectAsync("for a");
        await b.ExpectAsync("for b");
        await a.ExpectNothingMoreAsync();
    }

    [Fact]
    public async Task SendConnections_ReachesEachListedConnection()
    {
        var node = await CreateNodeAsync();
        var a = await ConnectAsync(node);
        var b = await ConnectAsync(node);
        var c = await ConnectAsync(node);

        await Send(node.SendConnectionsAsync([a.Id, c.Id], "message", ["listed"]));
        await Send(node.SendAllAsync("message", ["all"]));

        await a.ExpectAsync("listed");
        await c.ExpectAsync("listed");
        await b.ExpectAsync("all");
    }

    [Fact]
    public async Task SendToAnUnknownConnection_IsANoOp()
    {
        var node = await CreateNodeAsync();
        var a = await ConnectAsync(node);

        await Send(node.SendConnectionAsync("nobody", "message", ["lost"]));
        await Send(node.SendConnectionAsync(a.Id, "message", ["found"]));

        await a.ExpectAsync("found");
    }

    [Fact]
    public async Task SendGroup_ReachesItsMembersOnly()
    {
        var node = await CreateNodeAsync();
        var member = await ConnectAsync(node);
        var other = await ConnectAsync(node);
        await node.AddToGroupAsync(member.Id, "room").DefaultTimeout();

        await Send(node.SendGroupAsync("room", "message", ["in the room"]));
        await Send(node.SendAllAsync("message", ["everyone"]));

        await member.ExpectAsync("in the room");
        await member.ExpectAsync("everyone");
        await other.ExpectAsync("everyone");
        await other.ExpectNothingMoreAsync();
    }

    [Fact]
    public async Task SendGroupExcept_SkipsTheExcludedMembers()
    {
        var node = await CreateNodeAsync();
        var a = await ConnectAsync(node);
        var b = await ConnectAsync(node);
        await node.AddToGroupAsync(a.Id, "room").DefaultTimeout();
        await node.AddToGroupAsync(b.Id, "room").DefaultTimeout();

        await Send(node.SendGroupExceptAsync("room", "message", ["not b"], [b.Id]));
        await Send(node.SendGroupAsync("room", "message", ["all of us"]));

        await a.ExpectAsync("not b");
        await a.ExpectAsync("all of us");
        await b.ExpectAsync("all of us");
    }

    [Fact]
    public async Task SendGroups_ReachesTheMembersOfEachGroup()
    {
        var node = await CreateNodeAsync();
        var a = await ConnectAsync(node);
        var b = await ConnectAsync(node);
        var c = await ConnectAsync(node);
        await node.AddToGroupAsync(a.Id, "red").DefaultTimeout();
        await node.AddToGroupAsync(b.Id, "blue").DefaultTimeout();

        await Send(node.SendGroupsAsync(["red", "blue"], "message", ["colours"]));
        await Send(node.SendAllAsync("message", ["all"]));

        await a.ExpectAsync("colours");
        await b.ExpectAsync("colours");
        await c.ExpectAsync("all");
    }

    [Fact]
    public async Task RemoveFromGroup_StopsDelivery()
    {
        var node = await CreateNodeAsync();
        var a = await ConnectAsync(node);
        await node.AddToGroupAsync(a.Id, "room").DefaultTimeout();
        await node.RemoveFromGroupAsync(a.Id, "room").DefaultTimeout();

        await Send(node.SendGroupAsync("room", "message", ["gone"]));
        await Send(node.SendConnectionAsync(a.Id, "message", ["direct"]));

        await a.ExpectAsync("direct");
        await a.ExpectNothingMoreAsync();
    }

    [Fact]
    public async Task AddingTwice_ThenRemovingOnce_LeavesTheConnectionOut()
    {
        var node = await CreateNodeAsync();
        var a = await ConnectAsync(node);
        var b = await ConnectAsync(node);
        await node.AddToGroupAsync(a.Id, "room").DefaultTimeout();
        await node.AddToGroupAsync(a.Id, "room").DefaultTimeout();
        await node.AddToGroupAsync(b.Id, "room").DefaultTimeout();

        await Send(node.SendGroupAsync("room", "message", ["once"]));
        await a.ExpectAsync("once");
        await b.ExpectAsync("once");

        await node.RemoveFromGroupAsync(a.Id, "room").DefaultTimeout();
        await Send(node.SendGroupAsync("room", "message", ["b only"]));
        await b.ExpectAsync("b only");
        await a.ExpectNothingMoreAsync();
    }

    [Fact]
    public async Task ADisconnectedConnection_LeavesItsGroups()
    {
        var node = await CreateNodeAsync();
        var leaving = await ConnectAsync(node);
        var staying = await ConnectAsync(node);
        await node.AddToGroupAsync(leaving.Id, "room").DefaultTimeout();
        await node.AddToGroupAsync(staying.Id, "room").DefaultTimeout();

        await DisconnectAsync(node, leaving);
        await Send(node.SendGroupAsync("room", "message", ["after"]));

        await staying.ExpectAsync("after");
        await leaving.ExpectNothingMoreAsync();
    }

    [Fact]
    public async Task SendUser_ReachesEveryConnectionOfThatUser()
    {
        var node = await CreateNodeAsync();
        var phone = await ConnectAsync(node, "alice");
        var laptop = await ConnectAsync(node, "alice");
        var bob = await ConnectAsync(node, "bob");

        await Send(node.SendUserAsync("alice", "message", ["hi alice"]));
        await Send(node.SendAllAsync("message", ["all"]));

        await phone.ExpectAsync("hi alice");
        await laptop.ExpectAsync("hi alice");
        await bob.ExpectAsync("all");
    }

    [Fact]
    public async Task SendUsers_ReachesEveryListedUser()
    {
        var node = await CreateNodeAsync();
        var alice = await ConnectAsync(node, "alice");
        var bob = await ConnectAsync(node, "bob");
        var carol = await ConnectAsync(node, "carol");

        await Send(node.SendUsersAsync(["alice", "carol"], "message", ["listed"]));
        await Send(node.SendAllAsync("message", ["all"]));

        await alice.ExpectAsync("listed");
        await carol.ExpectAsync("listed");
        await bob.ExpectAsync("all");
    }

    [Fact]
    public async Task GroupNames_AreTakenLiterally_NotAsPatterns()
    {
        var node = await CreateNodeAsync();
        var star = await ConnectAsync(node);
        var plain = await ConnectAsync(node);
        var user = await ConnectAsync(node, "room");
        await node.AddToGroupAsync(star.Id, "room*").DefaultTimeout();
        await node.AddToGroupAsync(plain.Id, "roomy").DefaultTimeout();

        await Send(node.SendGroupAsync("room*", "message", ["star"]));
        await Send(node.SendGroupAsync("roomy", "message", ["plain"]));
        await Send(node.SendGroupAsync("room", "message", ["a group, not the user"]));

        await star.ExpectAsync("star");
        await plain.ExpectAsync("plain");
        await star.ExpectNothingMoreAsync(100);
        await plain.ExpectNothingMoreAsync(100);
        await user.ExpectNothingMoreAsync(100);
    }

    [Fact]
    public async Task ALocalConnection_GetsThisNodesMessagesInCallOrder_WhateverTheRoute()
    {
        var node = await CreateNodeAsync();
        var a = await ConnectAsync(node, "alice");
        await node.AddToGroupAsync(a.Id, "room").DefaultTimeout();

        for (int i = 0; i < 40; i++)
        {
            string text = i.ToString(System.Globalization.CultureInfo.InvariantCulture);
            await Send((i % 4) switch
            {
                0 => node.SendAllAsync("message", [text]),
                1 => node.SendGroupAsync("room", "message", [text]),
                2 => node.SendUserAsync("alice", "message", [text]),
                _ => node.SendConnectionAsync(a.Id, "message", [text]),
            });
        }

        for (int i = 0; i < 40; i++)
        {
            await a.ExpectAsync(i.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
    }
}
