using RealtimeAgents.Contracts;
using Xunit;

namespace RealtimeAgents.Core.Tests;

public sealed class TaskAccessRulesTests
{
    private static readonly TaskShares ReadForTeam = new([new TaskShare("team", ShareAccess.Read)]);

    private static TaskRecord Task(TaskShares shares) => new()
    {
        TaskId = "t1", ThreadId = "th1", Owner = "alice", Agent = "demo", Input = "x", Status = TaskStates.Running, Shares = shares,
    };

    [Fact]
    public void TheOwner_MaySteer_WithoutAnyShare() =>
        Assert.Equal(TaskAccess.Steer, TaskAccessRules.AccessOf(Caller.User("alice"), "alice", TaskShares.None));

    [Fact]
    public void SomeoneOutsideEveryGroup_HasNoAccess_AndTheOwnerIdIsComparedExactly()
    {
        Assert.Equal(TaskAccess.None, TaskAccessRules.AccessOf(Caller.User("bob", "other"), "alice", ReadForTeam));
        Assert.Equal(TaskAccess.None, TaskAccessRules.AccessOf(Caller.User("Alice"), "alice", TaskShares.None));
    }

    [Fact]
    public void AReadShare_GivesRead_AndASteerShare_GivesSteer_WhateverTheOrderOfShares()
    {
        var both = new TaskShares([new TaskShare("team", ShareAccess.Read), new TaskShare("ops", ShareAccess.Steer)]);
        Assert.Equal(TaskAccess.Read, TaskAccessRules.AccessOf(Caller.User("bob", "team"), "alice", both));
        Assert.Equal(TaskAccess.Steer, TaskAccessRules.AccessOf(Caller.User("bob", "ops"), "alice", both));
        Assert.Equal(TaskAccess.Steer, TaskAccessRules.AccessOf(Caller.User("bob", "team", "ops"), "alice", both));
        Assert.Equal(TaskAccess.Steer, TaskAccessRules.AccessOf(Caller.User("bob", "ops", "team"), "alice", new TaskShares(both.Reverse())));
    }

    [Fact]
    public void ATaskThatIsNotTheCallers_IsRefused_ExactlyLikeAMissingOne()
    {
        var stranger = Caller.User("bob");
        var missing = Assert.Throws<RealtimeAgentsException>(() => TaskAccessRules.RequireTask(stranger, null, "t1", TaskAccess.Read));
        var notTheirs = Assert.Throws<RealtimeAgentsException>(() => TaskAccessRules.RequireTask(stranger, Task(ReadForTeam), "t1", TaskAccess.Read));
        Assert.Equal(ErrorCodes.NotFound, missing.Code);
        Assert.Equal((missing.Code, missing.Message), (notTheirs.Code, notTheirs.Message));
    }

    [Fact]
    public void AReader_WhoWantsToSteer_IsToldItIsReadOnly_NotThatItIsMissing()
    {
        var reader = Caller.User("bob", "team");
        var task = Task(ReadForTeam);
        Assert.Same(task, TaskAccessRules.RequireTask(reader, task, "t1", TaskAccess.Read));
        var refused = Assert.Throws<RealtimeAgentsException>(() => TaskAccessRules.RequireTask(reader, task, "t1", TaskAccess.Steer));
        Assert.Equal(ErrorCodes.PermissionDenied, refused.Code);
        Assert.Contains("t1", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AThread_IsSharedAsItsLatestTask_AndAStrangersThreadLooksMissing()
    {
        var thread = new ThreadRecord("th1", "alice", "demo", ["t1"], ReadForTeam);
        Assert.Same(thread, TaskAccessRules.RequireThread(Caller.User("bob", "team"), thread, "th1", TaskAccess.Read));
        var missing = Assert.Throws<RealtimeAgentsException>(() => TaskAccessRules.RequireThread(Caller.User("bob"), null, "th1", TaskAccess.Read));
        var notTheirs = Assert.Throws<RealtimeAgentsException>(() => TaskAccessRules.RequireThread(Caller.User("bob"), thread, "th1", TaskAccess.Read));
        Assert.Equal(ErrorCodes.NotFound, missing.Code);
        Assert.Equal((missing.Code, missing.Message), (notTheirs.Code, notTheirs.Message));
        Assert.Equal(ErrorCodes.PermissionDenied,
            Assert.Throws<RealtimeAgentsException>(() => TaskAccessRules.RequireThread(Caller.User("bob", "team"), thread, "th1", TaskAccess.Steer)).Code);
    }
}
