// The extra latency the llm agent's mapping adds per token.
//
// One recorded-style chat-completions stream of N text tokens is replayed from memory (an
// HttpMessageHandler, so no socket or server noise) through
//   (a) the raw IChatClient loop: ChatCompletionsClient streaming, every update read, and
//   (b) the full LlmAgent run by the real AgentWorker into the in-memory event log
//       (thread history, request, one text.delta event appended per token, task.completed).
// (a) is timed around the loop; (b) is the task's executionMs as the worker measures it around
// agent.RunAsync. The overhead per token is (b - a) / N, reported as the median of the runs.
// On a shared machine the wall clock is noisy (other processes take the cores), so the same is
// also reported in this process's CPU time, bracketing each side from its start to its end.
//
//   dotnet run -c Release --project load-tests/RealtimeAgents.LlmBenchmarks -- [--tokens 10000] [--runs 21]
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using RealtimeAgents.Agents;
using RealtimeAgents.Agents.Llm;
using RealtimeAgents.Contracts;
using RealtimeAgents.Core;
using RealtimeAgents.Core.Runtime;

int tokens = Arg("--tokens", 10_000);
int runs = Arg("--runs", 21);
byte[] stream = Recording(tokens);
var options = new LlmOptions { BaseUrl = "http://model.invalid/v1", ApiKey = "sk-bench", Model = "bench", SystemPrompt = "You are a benchmark." };
using var handler = new ReplayHandler(stream);

var services = new ServiceCollection();
services.AddLogging(b => b.SetMinimumLevel(LogLevel.Warning));
services.AddKeyedSingleton<IChatClient>(LlmAgent.ChatClientKey, new ChatCompletionsClient(options, handler));
services.AddRealtimeAgentsCore().AddInMemoryStores().AddBuiltInAgents();
services.Configure<LlmOptions>(o => { o.BaseUrl = options.BaseUrl; o.ApiKey = options.ApiKey; o.Model = options.Model; o.SystemPrompt = options.SystemPrompt; });
services.Configure<EventLogOptions>(o => o.MaxLength = tokens + 100);
await using var provider = services.BuildServiceProvider();
var worker = ActivatorUtilities.CreateInstance<AgentWorker>(provider);
await worker.StartAsync(CancellationToken.None);
var raw = new ChatCompletionsClient(options, handler);
var taskService = provider.GetRequiredService<TaskService>();
var log = provider.GetRequiredService<IEventLog>();
var store = provider.GetRequiredService<ITaskStore>();

Console.WriteLine($"{tokens} tokens per stream ({stream.Length / 1024} KiB of SSE), {runs} runs after 5 warm-up runs");
for (int i = 0; i < 5; i++)
{
    await RawAsync();
    await AgentAsync();
}
var rows = new List<(double Raw, double Agent, double RawCpu, double AgentCpu)>();
var process = Process.GetCurrentProcess();
for (int i = 0; i < runs; i++)
{
    GC.Collect();
    GC.WaitForPendingFinalizers();
    var cpu0 = CpuMs();
    double a = await RawAsync();
    var cpu1 = CpuMs();
    GC.Collect();
    GC.WaitForPendingFinalizers();
    var cpu2 = CpuMs();
    double b = await AgentAsync();
    var cpu3 = CpuMs();
    rows.Add((a, b, cpu1 - cpu0, cpu3 - cpu2));
    Console.WriteLine($"run {i + 1,2}: wall raw {a,8:F2} ms  agent {b,8:F2} ms  (b-a)/N {(b - a) * 1000 / tokens,6:F2} µs | " +
        $"cpu raw {cpu1 - cpu0,8:F2} ms  agent {cpu3 - cpu2,8:F2} ms  (b-a)/N {(cpu3 - cpu2 - (cpu1 - cpu0)) * 1000 / tokens,6:F2} µs");
}
double Median(IEnumerable<double> xs) { var s = xs.Order().ToList(); return s.Count % 2 == 1 ? s[s.Count / 2] : (s[s.Count / 2 - 1] + s[s.Count / 2]) / 2; }
double PerToken(double ms) => ms * 1000 / tokens;
Console.WriteLine();
Console.WriteLine($"wall clock: raw loop {PerToken(Median(rows.Select(r => r.Raw))):F2} µs/token, full agent {PerToken(Median(rows.Select(r => r.Agent))):F2} µs/token, " +
    $"median (b - a) / N = {Median(rows.Select(r => PerToken(r.Agent - r.Raw))):F2} µs/token");
Console.WriteLine($"cpu time:   raw loop {PerToken(Median(rows.Select(r => r.RawCpu))):F2} µs/token, full agent {PerToken(Median(rows.Select(r => r.AgentCpu))):F2} µs/token, " +
    $"median (b - a) / N = {Median(rows.Select(r => PerToken(r.AgentCpu - r.RawCpu))):F2} µs/token");
await worker.StopAsync(CancellationToken.None);
return;

double CpuMs()
{
    process.Refresh();
    return process.TotalProcessorTime.TotalMilliseconds;
}

async Task<double> RawAsync()
{
    var sw = Stopwatch.StartNew();
    int n = 0;
    await foreach (var update in raw.GetStreamingResponseAsync([new ChatMessage(ChatRole.System, "You are a benchmark."), new ChatMessage(ChatRole.User, "Count.")]))
    {
        foreach (var c in update.Contents) if (c is TextContent) n++;
    }
    sw.Stop();
    if (n != tokens) throw new InvalidOperationException($"raw loop saw {n} tokens, expected {tokens}");
    return sw.Elapsed.TotalMilliseconds;
}

async Task<double> AgentAsync()
{
    var submitted = await taskService.SubmitAsync(Caller.Developer, new SubmitTaskRequest { Agent = "llm", Input = "Count." });
    while (await store.GetAsync(submitted.TaskId) is { } t && !TaskStates.IsTerminal(t.Status)) await Task.Delay(5);
    var last = default(EventRecord);
    int deltas = 0;
    var after = StreamId.Zero;
    while (true)
    {
        var page = await log.ReadAsync(submitted.TaskId, after, 5000);
        deltas += page.Count(e => e.Kind == EventKinds.TextDelta);
        if (page.Count > 0) { last = page[^1]; after = last.Id; }
        if (page.Count < 5000) break;
    }
    if (last?.Kind != EventKinds.TaskCompleted) throw new InvalidOperationException($"the agent ended with {last?.Kind}: {(last is null ? "" : System.Text.Encoding.UTF8.GetString(last.Data.Span))}");
    if (deltas != tokens) throw new InvalidOperationException($"the agent wrote {deltas} text.delta events, expected {tokens}");
    return last.DataAs(ContractsJsonContext.Default.TaskCompletedData).ExecutionMs;
}

static byte[] Recording(int n)
{
    // The shape OpenAI streams: a role chunk, one chunk per token, the finish chunk, usage, [DONE].
    const string head = """data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1763715600,"model":"gpt-4o-mini-2024-07-18","system_fingerprint":"fp_560af6e559","choices":[{"index":0,"delta":""";
    const string tail = ""","logprobs":null,"finish_reason":null}],"usage":null}""";
    var sb = new StringBuilder();
    sb.Append(head).Append("""{"role":"assistant","content":"","refusal":null}""").Append(tail).Append("\n\n");
    for (int i = 0; i < n; i++)
    {
        sb.Append(head).Append("{\"content\":").Append(JsonSerializer.Serialize(string.Create(CultureInfo.InvariantCulture, $" word{i % 1000}"))).Append('}').Append(tail).Append("\n\n");
    }
    sb.Append(head).Append("{},\"logprobs\":null,\"finish_reason\":\"stop\"}],\"usage\":null}\n\n");
    sb.Append("""data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1763715600,"model":"gpt-4o-mini-2024-07-18","choices":[],"usage":{"prompt_tokens":12,"completion_tokens":""")
      .Append(n).Append(",\"total_tokens\":").Append(n + 12).Append("}}\n\n");
    sb.Append("data: [DONE]\n\n");
    return Encoding.UTF8.GetBytes(sb.ToString());
}

int Arg(string name, int fallback)
{
    int i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
}

/// <summary>Answers every request with the same SSE body from memory.</summary>
sealed class ReplayHandler(byte[] body) : HttpMessageHandler
{
    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("text/event-stream");
        return Task.FromResult(new HttpResponseMessage(HttpStatusCode.OK) { Content = content });
    }
}
