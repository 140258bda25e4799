using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using RealtimeAgents.Contracts;
using RealtimeAgents.Core.InMemory;
using RealtimeAgents.Testing;
using Xunit;

namespace RealtimeAgents.Core.Tests;

public sealed class LeaseHeartbeatTests
{
    [Fact]
    public async Task AnAttemptFencedOutByItsRetry_StopsRenewingItsLease()
    {
        var queue = new CountingQueue(new InMemoryTaskQueue(Options.Create(new TaskQueueOptions { VisibilityTimeout = TimeSpan.FromSeconds(1) })));
        await using var kit = new RuntimeKit(s => s.AddSingleton<ITaskQueue>(queue));
        var submitted = await kit.Tasks.SubmitAsync(Caller.User("alice"), new SubmitTaskRequest { Agent = "endless", Input = "x" }).DefaultTimeout();
        var lease = (await queue.DequeueAsync("slow-worker", TimeSpan.FromSeconds(1)).AsTask().DefaultTimeout())!;
        var run = kit.CreateWorker().RunLeaseAsync(lease);
        // The heartbeat renews every third of the visibility timeout while the agent writes tokens.
        await WaitUntilAsync(() => queue.Renewals >= 1);

        // A retry (attempt 2) took the task over: the next token of attempt 1 is refused, and its run ends.
        var status = JsonSerializer.SerializeToElement(new StatusData(StatusPhases.Running), ContractsJsonContext.Default.StatusData);
        await kit.Get<IEventLog>().AppendAsync(submitted.TaskId, submitted.ThreadId, EventKinds.Status, status, 1, lease.Attempt + 1)
            .AsTask().DefaultTimeout();
        await run.DefaultTimeout();

        int renewals = queue.Renewals;
        await Task.Delay(TimeSpan.FromSeconds(1)); // three heartbeat intervals
        Assert.Equal(renewals, queue.Renewals);
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "timed out waiting");
            await Task.Delay(20);
        }
    }
}
