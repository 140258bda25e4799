using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using RealtimeAgents.EventPathBenchmarks;

// In process: the benchmarks start a private redis-server and measure allocations of this
// process (MemoryDiagnoser), so a generated copy of the project would add nothing but build time.
var config = ManualConfig.Create(DefaultConfig.Instance)
    .AddJob(Job.ShortRun.WithToolchain(InProcessEmitToolchain.Instance))
    .WithOptions(ConfigOptions.DisableOptimizationsValidator);
BenchmarkSwitcher.FromTypes([typeof(AppendBenchmarks), typeof(FanOutBenchmarks)]).Run(args, config);
