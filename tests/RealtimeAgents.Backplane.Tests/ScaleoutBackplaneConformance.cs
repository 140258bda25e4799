using RealtimeAgents.Testing;
using Xunit;

namespace RealtimeAgents.Backplane.Tests;

/// <summary>
/// What a backplane must do across nodes: two managers on one backplane, each with its own connections,
/// as two hub processes behind a load balancer would be.
/// </summary>
public abstract class ScaleoutBackplaneConformance : BackplaneConformance
{
    /// <summary>How many nodes are subscribed to the channel of a group, user or connection.</summary>
    protected abstract Task<long> SubscriberCountAsync(string kind, string name);

    [Fact]
    public async Task SendAll_FromOneNode_ReachesConnectionsOnBothNodes()
    {
        var nodeA = await CreateNodeAsync();
        var nodeB = await CreateNodeAsync();
        var onA = await ConnectAsync(nodeA);
        var onB = await ConnectAsync(nodeB);

        await Send(nodeB.SendAllAsync("message", ["everyone"]));

        await onA.ExpectAsync("everyone");
        await onB.ExpectAsync("everyone");
        await onB.ExpectNothingMoreAsync();
    }

    [Fact]
    public async Task SendAllExcept_SkipsExcludedConnectionsOnTheOtherNode()
    {
        var nodeA = await CreateNodeAsync();
        var nodeB = await CreateNodeAsync();
        var a1 = await ConnectAsync(nodeA);
        var a2 = await ConnectAsync(nodeA);
        var b1 = await ConnectAsync(nodeB);

        await Send(nodeB.SendAllExceptAsync("message", ["not a1"], [a1.Id]));
        await Send(nodeB.SendConnectionAsync(a1.Id, "message", ["direct"]));

        await a2.ExpectAsync("not a1");
        await b1.ExpectAsync("not a1");
        await a1.ExpectAsync("direct");
        await a1.ExpectNothingMoreAsync();
    }

    [Fact]
    public async Task SendConnection_ReachesAConnectionOnTheOtherNode()
    {
        var nodeA = await CreateNodeAsync();
        var nodeB = await CreateNodeAsync();
        var onA = await ConnectAsync(nodeA);
        var onB = await ConnectAsync(nodeB);

        await Send(nodeB.SendConnectionAsync(onA.Id, "message", ["across"]));
        await Send(nodeB.SendConnectionsAsync([onA.Id, onB.Id], "message", ["both"]));

        await onA.ExpectAsync("across");
        await onA.ExpectAsync("both");
        await onB.ExpectAsync("both");
    }

    [Fact]
    public async Task MessagesToARemoteConnection_ArriveInSendOrder()
    {
        var nodeA = await CreateNodeAsync();
        var nodeB = await CreateNodeAsync();
        var onA = await ConnectAsync(nodeA);

        var sends = new List<Task>();
        for (int i = 0; i < 200; i++)
        {
            // Not awaited one by one: the order of the calls alone must fix the order of delivery.
            sends.Add(nodeB.SendConnectionAsync(onA.Id, "message", [i.ToString(System.Globalization.CultureInfo.InvariantCulture)]));
        }

        await Task.WhenAll(sends).DefaultTimeout();
        for (int i = 0; i < 200; i++)
        {
            await onA.ExpectAsync(i.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
    }

    [Fact]
    public async Task AGroupWithMembersOnBothNodes_IsReachedFromEither()
    {
        var nodeA = await CreateNodeAsync();
        var nodeB = await CreateNodeAsync();
        var onA = await ConnectAsync(nodeA);
        var onB = await ConnectAsync(nodeB);
        var outsider = await ConnectAsync(nodeB);
        await nodeA.AddToGroupAsync(onA.Id, "room").DefaultTimeout();
        await nodeB.AddToGroupAsync(onB.Id, "room").DefaultTimeout();

        await Send(nodeB.SendGroupAsync("room", "message", ["from b"]));
        await Send(nodeA.SendGroupAsync("room", "message", ["from a"]));

        // Each node's own sends reach its members directly, the other's come through Redis: only the order
        // of one sender is defined.
        await onA.ExpectInAnyOrderAsync("from a", "from b");
        await onB.ExpectInAnyOrderAsync("from a", "from b");
        await outsider.ExpectNothingMoreAsync();
        await onA.ExpectNothingMoreAsync(50);
    }

    [Fact]
    public async Task SendGroupExcept_SkipsAnExcludedMemberOnTheOtherNode()
    {
        var nodeA = await CreateNodeAsync();
        var nodeB = await CreateNodeAsync();
        var a1 = await ConnectAsync(nodeA);
        var a2 = await ConnectAsync(nodeA);
        await nodeA.AddToGroupAsync(a1.Id, "room").DefaultTimeout();
        await nodeA.AddToGroupAsync(a2.Id, "room").DefaultTimeout();

        await Send(nodeB.SendGroupExceptAsync("room", "message", ["not a1"], [a1.Id]));
        await Send(nodeB.SendGroupsAsync(["room"], "message", ["everyone in it"]));

        await a2.ExpectAsync("not a1");
        await a2.ExpectAsync("everyone in it");
        await a1.ExpectAsync("everyone in it");
    }

    [Fact]
    public async Task AddToGroup_ForAConnectionOnTheOtherNode_IsAcknowledgedAndTakesEffect()
    {
        var nodeA = await CreateNodeAsync();
        var nodeB = await CreateNodeAsync();
        var onA = await ConnectAsync(nodeA);

        // Returns only once node A confirmed, so the group send right after must reach the connection.
        await nodeB.AddToGroupAsync(onA.Id, "room").DefaultTimeout();
        await Send(nodeB.SendGroupAsync("room", "message", ["joined"]));
        await onA.ExpectAsync("joined");

        await nodeB.RemoveFromGroupAsync(onA.Id, "room").DefaultTimeout();
        await Send(nodeB.SendGroupAsync("room", "message", ["after leaving"]));
        await Send(nodeB.SendConnectionAsync(onA.Id, "message", ["direct"]));
        await onA.ExpectAsync("direct");
        await onA.ExpectNothingMoreAsync();
    }

    [Fact]
    public async Task SendUser_ReachesTheUsersConnectionsOnBothNodes()
    {
        var nodeA = await CreateNodeAsync();
        var nodeB = await CreateNodeAsync();
        var phone = await ConnectAsync(nodeA, "alice");
        var laptop = await ConnectAsync(nodeB, "alice");
        var bob = await ConnectAsync(nodeB, "bob");

        await Send(nodeA.SendUserAsync("alice", "message", ["hi alice"]));
        await Send(nodeB.SendUsersAsync(["alice", "bob"], "message", ["hi both"]));

        await phone.ExpectInAnyOrderAsync("hi alice", "hi both");
        await laptop.ExpectInAnyOrderAsync("hi alice", "hi both");
        await bob.ExpectAsync("hi both");
        await bob.ExpectNothingMoreAsync();
    }

    [Fact]
    public async Task AGroupSend_AfterTheLastLocalMemberLeft_DoesNotArrive_AndTheNodeUnsubscribed()
    {
        var nodeA = await CreateNodeAsync();
        var nodeB = await CreateNodeAsync();
        var onA = await ConnectAsync(nodeA);
        await nodeA.AddToGroupAsync(onA.Id, "room").DefaultTimeout();
        Assert.Equal(1, await SubscriberCountAsync("group", "room").DefaultTimeout());

        await nodeA.RemoveFromGroupAsync(onA.Id, "room").DefaultTimeout();
        Assert.Equal(0, await SubscriberCountAsync("group", "room").DefaultTimeout());

        await Send(nodeB.SendGroupAsync("room", "message", ["too late"]));
        await Send(nodeB.SendConnectionAsync(onA.Id, "message", ["direct"]));
        await onA.ExpectAsync("direct");
        await onA.ExpectNothingMoreAsync();
    }

    [Fact]
    public async Task Disconnect_UnsubscribesTheConnectionGroupAndUserChannels()
    {
        var nodeA = await CreateNodeAsync();
        var nodeB = await CreateNodeAsync();
        var onA = await ConnectAsync(nodeA, "alice");
        await nodeB.AddToGroupAsync(onA.Id, "room").DefaultTimeout();
        Assert.Equal(1, await SubscriberCountAsync("connection", onA.Id).DefaultTimeout());
        Assert.Equal(1, await SubscriberCountAsync("group", "room").DefaultTimeout());
        Assert.Equal(1, await SubscriberCountAsync("user", "alice").DefaultTimeout());

        await DisconnectAsync(nodeA, onA);

        Assert.Equal(0, await SubscriberCountAsync("connection", onA.Id).DefaultTimeout());
        Assert.Equal(0, await SubscriberCountAsync("group", "room").DefaultTimeout());
        Assert.Equal(0, await SubscriberCountAsync("user", "alice").DefaultTimeout());
        await Send(nodeB.SendGroupAsync("room", "message", ["nobody"]));
        await onA.ExpectNothingMoreAsync();
    }
}
