using RealtimeAgents.Core;
using RealtimeAgents.Testing;
using Xunit;

namespace RealtimeAgents.Conformance;

/// <summary>What every <see cref="IControlChannel"/> must do. Task ids are unique per test.</summary>
public abstract class ControlChannelConformance
{
    protected abstract Task<IControlChannel> CreateChannelAsync();

    private static string NewTaskId() => "t" + Guid.NewGuid().ToString("N");

    private static ControlMessage Msg(string text) => new(Guid.NewGuid().ToString("N"), ControlMessage.Message, Text: text);

    [Fact]
    public async Task MessagesSentBeforeSubscribing_AreDeliveredFirst()
    {
        var control = await CreateChannelAsync();
        string task = NewTaskId();
        var interrupt = new ControlMessage(Guid.NewGuid().ToString("N"), ControlMessage.Interrupt, Reason: "stop");
        await control.SendAsync(task, interrupt).AsTask().DefaultTimeout();
        await using var sub = await control.SubscribeAsync(task).AsTask().DefaultTimeout();
        var got = await sub.Messages.ReadAsync().AsTask().DefaultTimeout();
        Assert.Equal(interrupt, got);
    }

    [Fact]
    public async Task LiveMessages_ArriveInSendOrder()
    {
        var control = await CreateChannelAsync();
        string task = NewTaskId();
        await using var sub = await control.SubscribeAsync(task).AsTask().DefaultTimeout();
        var sent = Enumerable.Range(0, 20).Select(i => Msg($"m{i}")).ToList();
        foreach (var m in sent) await control.SendAsync(task, m).AsTask().DefaultTimeout();
        var seen = new List<ControlMessage>();
        var ids = new HashSet<string>();
        while (seen.Count < sent.Count)
        {
            var m = await sub.Messages.ReadAsync().AsTask().DefaultTimeout();
            if (ids.Add(m.Id)) seen.Add(m); // redelivery is allowed; order is not negotiable
        }
        Assert.Equal(sent, seen);
    }

    [Fact]
    public async Task Subscribers_OfAnotherTask_SeeNothing()
    {
        var control = await CreateChannelAsync();
        string a = NewTaskId(), b = NewTaskId();
        await using var subB = await control.SubscribeAsync(b).AsTask().DefaultTimeout();
        await control.SendAsync(a, Msg("for a")).AsTask().DefaultTimeout();
        await Task.Delay(200);
        Assert.False(subB.Messages.TryRead(out _));
    }

    [Fact]
    public async Task Forget_DropsWhatWasKept()
    {
        var control = await CreateChannelAsync();
        string task = NewTaskId();
        await control.SendAsync(task, Msg("old")).AsTask().DefaultTimeout();
        await control.ForgetAsync(task).AsTask().DefaultTimeout();
        await using var sub = await control.SubscribeAsync(task).AsTask().DefaultTimeout();
        await Task.Delay(200);
        Assert.False(sub.Messages.TryRead(out _));
    }

    [Fact]
    public async Task DisposedSubscription_CompletesItsReader()
    {
        var control = await CreateChannelAsync();
        string task = NewTaskId();
        var sub = await control.SubscribeAsync(task).AsTask().DefaultTimeout();
        await sub.DisposeAsync().AsTask().DefaultTimeout();
        await sub.Messages.Completion.DefaultTimeout();
    }
}
