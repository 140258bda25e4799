using Microsoft.Extensions.Options;
using RealtimeAgents.Conformance;
using RealtimeAgents.Core;
using RealtimeAgents.Core.InMemory;

namespace RealtimeAgents.Core.Tests;

public sealed class InMemoryEventLogConformance : EventLogConformance
{
    protected override Task<IEventLog> CreateLogAsync(EventLogOptions options) =>
        Task.FromResult<IEventLog>(new InMemoryEventLog(Options.Create(options)));
}

public sealed class InMemoryTaskQueueConformance : TaskQueueConformance
{
    protected override Task<ITaskQueue> CreateQueueAsync(TaskQueueOptions options) =>
        Task.FromResult<ITaskQueue>(new InMemoryTaskQueue(Options.Create(options)));
}

public sealed class InMemoryControlChannelConformance : ControlChannelConformance
{
    protected override Task<IControlChannel> CreateChannelAsync() =>
        Task.FromResult<IControlChannel>(new InMemoryControlChannel());
}

public sealed class InMemoryTaskStoreConformance : TaskStoreConformance
{
    protected override Task<ITaskStore> CreateStoreAsync() =>
        Task.FromResult<ITaskStore>(new InMemoryTaskStore(Options.Create(new EventLogOptions())));
}
