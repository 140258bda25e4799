using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.WebSockets;
using System.Text;
using System.Text.RegularExpressions;
using RealtimeAgents.Contracts;

using RealtimeAgents.Testing;
using Xunit;
using Xunit.Abstractions;
using Microsoft.Extensions.Logging;

namespace RealtimeAgents.Auth.Tests;

/// <summary>
/// Careless and hostile input against the hub and the HTTP endpoints, in Redis mode: the server
/// stays up and keeps serving a well-behaved client, answers nothing with a stack trace or a 5xx,
/// and never touches a Redis key outside its prefix. Bounded by time and count; the seed is
/// printed (set FUZZ_SEED to replay one).
/// </summary>
public sealed partial class FuzzTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Duration = TimeSpan.FromSeconds(20);
    private const int MaxInputs = 40_000;

    private static readonly string[] Targets =
    [
        HubMethods.SubmitTask, HubMethods.Subscribe, HubMethods.Unsubscribe, HubMethods.Interrupt, HubMethods.SendMessage,
        HubMethods.GetTask, HubMethods.SubscribeThread, "OnConnectedAsync", "Dispose", "submittask", "", "{x}", "\\u0000", "🙂", "../Hub",
    ];

    /// <summary>Argument values as JSON text: crafted ids, cursors, wrong types, odd unicode.</summary>
    private static readonly string[] Values =
    [
        "\"{x}\"", "\"a:b\"", "\"../\"", "\"..\\\\..\\\\etc/passwd\"", $"\"{new string('a', 1000)}\"", "\"99999999999999999999-0\"",
        "\"0-0\"", "\"$\"", "\"1-99999999999999999999\"", "\"9223372036854775807-9223372036854775807\"", "\"-1-0\"", "\"\"", "null", "0", "-1", "1e308", "123456789012345678901234567890",
        "true", "{}", "[]", "\"\\u0000\"", "\"a\\u0000b\"", "\"\\ud800\"", "\"\\udfff\\ud800\"", "\"🙂🙂\"", "\"\\u202eevil\"", "\"*\"", "\"ra:*\"",
        "\"t\\r\\nPING\"", "\"t0000000000000000000000000000000000000000000000000000000000000000\"", "\"t019a0000000000000000000000000000\"",
        "\"interrupt\"", "\"enqueue\"", "\"inject\"", "\"reject\"", "\"bogus-policy\"",
        "{\"agent\":\"demo\",\"input\":\"hi\",\"options\":{\"tokens\":1,\"tokenIntervalMs\":0,\"firstTokenDelayMs\":0,\"toolCalls\":0,\"reasoning\":false}}",
        "{\"agent\":\"../\",\"input\":\"x\",\"threadId\":\"{x}\"}",
        "{\"agent\":\"demo\",\"input\":\"x\",\"threadId\":\"a:b\",\"idempotencyKey\":\"\\u0000\"}",
        "{\"agent\":\"demo\",\"input\":\"x\",\"options\":{\"tokens\":1e20,\"failAfter\":-5}}",
        "{\"agent\":\"demo\",\"input\":\"x\",\"options\":[1,2,3]}",
        "{\"agent\":\"demo\",\"input\":\"x\",\"share\":[{\"group\":\"\\u0000\",\"access\":\"admin\"}]}",
        "{\"agent\":\"demo\",\"input\":\"x\",\"share\":[{\"group\":\"g\",\"access\":\"steer\"},null]}",
        "{\"agent\":\"demo\",\"input\":\"x\",\"share\":\"everyone\"}",
        "{\"agent\":123,\"input\":[]}", "{\"agent\":\"demo\"}", "{\"input\":\"x\"}",
        new string('[', 300) + new string(']', 300),
        // Deep nesting inside otherwise valid requests: under and over the server's one depth limit.
        "{\"agent\":\"demo\",\"input\":\"x\",\"options\":{\"a\":" + new string('[', 20) + new string(']', 20) + "}}",
        "{\"agent\":\"demo\",\"input\":\"x\",\"options\":{\"a\":" + new string('[', 62) + new string(']', 62) + "}}",
        "{\"agent\":\"demo\",\"input\":\"x\",\"options\":{\"a\":" + new string('[', 70) + new string(']', 70) + "}}",
        "{\"agent\":\"demo\",\"input\":\"x\",\"options\":" + string.Concat(Enumerable.Repeat("{\"a\":", 100)) + "1" + new string('}', 100) + "}",
        "{\"threadId\":\"th1\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"state\":" + new string('[', 80) + new string(']', 80) + "}",
        // Control characters and line breaks meant to forge log lines.
        "\"nope\\nFORGED: admin logged in\\r\\n\"", "\"\\u001b[31mred\\u001b[0m\"", "\"a\\u2028b\\u2029c\\u0085d\"", "\"\\t\\b\\f\\u0007\"",
        "{\"agent\":\"demo\\n[ERR] forged\",\"input\":\"x\"}",
        "{\"agent\":\"demo\",\"input\":\"x\\u0000\\r\\n\",\"idempotencyKey\":\"k\\r\\nforged\"}",
    ];

    [Fact]
    public async Task MalformedHubFramesAndHttpRequests_NeitherBreakTheServer_NorReachRedisOutsideItsPrefix()
    {
        int seed = int.TryParse(Environment.GetEnvironmentVariable("FUZZ_SEED"), CultureInfo.InvariantCulture, out int s) ? s : Random.Shared.Next();
        output.WriteLine($"fuzz seed {seed} (FUZZ_SEED={seed} replays it)");
        await using var redis = await RedisServer.StartAsync();
        string prefix = RedisServer.UniquePrefix();
        var logs = new LogCapture();
        await using var server = await AuthServer.StartWithAsync(b =>
            {
                b.Logging.AddFilter("RealtimeAgents", Microsoft.Extensions.Logging.LogLevel.Debug);
                b.Logging.AddProvider(logs);
            }, $"--RealtimeAgents:Redis={redis.ConnectionString}",
            $"--RealtimeAgents:RedisKeyPrefix={prefix}", "--RealtimeAgents:Worker:InProcess=true");

        using var stop = new CancellationTokenSource(Duration);
        string fuzzToken = Tokens.For("fuzzer");
        var problems = new List<string>();
        void Problem(string what) { lock (problems) if (problems.Count < 20) problems.Add(what); }

        var wellBehaved = WellBehavedAsync(server, stop.Token);
        var fuzzers = new[]
        {
            Task.Run(() => FuzzHubAsync(server, fuzzToken, new Random(seed), Problem, stop.Token)),
            Task.Run(() => FuzzHubAsync(server, fuzzToken, new Random(seed + 1), Problem, stop.Token)),
            Task.Run(() => FuzzHttpAsync(server, fuzzToken, new Random(seed + 2), Problem, stop.Token)),
        };
        int[] counts = await Task.WhenAll(fuzzers).DefaultTimeout((int)Duration.TotalMilliseconds + 30_000);
        int rounds = await wellBehaved.DefaultTimeout(30_000);
        int deep = await DeepFramesKeepTheConnectionAsync(server, fuzzToken, new Random(seed + 3), Problem);
        output.WriteLine($"inputs tried: {counts.Sum()} (hub frames {counts[0] + counts[1]}, HTTP requests {counts[2]}, deep frames on one connection {deep}); well-behaved rounds: {rounds}");
        string log = logs.Text;
        output.WriteLine($"log: {logs.Entries.Count} entries, {logs.Bytes()} bytes");
        foreach (string forged in new[] { "\nFORGED", "\n[ERR] forged", "\nforged", "\u2028", "\u001b" })
        {
            if (log.Contains(forged, StringComparison.Ordinal)) Problem($"caller text reached the log raw: {forged.Replace("\n", "\\n", StringComparison.Ordinal)}");
        }

        foreach (var p in problems) output.WriteLine(p);
        Assert.Empty(problems);
        Assert.True(rounds >= 3, $"the well-behaved client completed only {rounds} tasks");
        using (var http = server.Http())
        using (var health = await http.GetAsync("/healthz").DefaultTimeout())
        {
            Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        }

        await using var client = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(redis.ConnectionString).DefaultTimeout();
        var keys = new List<string>();
        await foreach (var key in client.GetServers()[0].KeysAsync(pageSize: 1000)) keys.Add((string)key!);
        output.WriteLine($"redis keys at the end: {keys.Count}");
        Assert.NotEmpty(keys);
        Assert.All(keys, k => Assert.StartsWith(prefix, k, StringComparison.Ordinal));
    }

    /// <summary>
    /// Invocations nested past the depth limit, at random depths, on one connection: each is
    /// answered invalid_argument and the connection stays open for the next.
    /// </summary>
    private static async Task<int> DeepFramesKeepTheConnectionAsync(AuthServer server, string token, Random rng, Action<string> problem)
    {
        using var socket = new ClientWebSocket();
        await socket.ConnectAsync(new Uri($"ws://{server.BaseAddress.Authority}{HubMethods.Path}?access_token={Uri.EscapeDataString(token)}"),
            CancellationToken.None).DefaultTimeout();
        await socket.SendAsync(Encoding.UTF8.GetBytes("{\"protocol\":\"json\",\"version\":1}\u001e"), WebSocketMessageType.Text, true, CancellationToken.None).DefaultTimeout();
        await ReceiveAsync(socket); // the handshake answer
        const int Frames = 50;
        for (int i = 0; i < Frames; i++)
        {
            int depth = rng.Next(33, 400);
            string options = rng.Next(2) == 0
                ? new string('[', depth) + new string(']', depth)
                : string.Concat(Enumerable.Repeat("{\"k\":", depth)) + "0" + new string('}', depth);
            string target = rng.Next(2) == 0 ? HubMethods.SubmitTask : HubMethods.GetTask;
            string frame = $"{{\"type\":1,\"invocationId\":\"deep{i}\",\"target\":\"{target}\",\"arguments\":[{{\"agent\":\"demo\",\"input\":\"x\",\"options\":{{\"a\":{options}}}}}]}}\u001e";
            await socket.SendAsync(Encoding.UTF8.GetBytes(frame), WebSocketMessageType.Text, true, CancellationToken.None).DefaultTimeout();
            string answer = await ReceiveAsync(socket);
            if (!answer.Contains($"\"invocationId\":\"deep{i}\"", StringComparison.Ordinal) || !answer.Contains("invalid_argument", StringComparison.Ordinal))
            {
                problem($"deep frame {i} (depth {depth}) answered: {answer[..Math.Min(answer.Length, 200)]}");
                return i;
            }
        }
        return Frames;
    }

    private static async Task<string> ReceiveAsync(ClientWebSocket socket)
    {
        var buffer = new byte[16 * 1024];
        using var cts = new CancellationTokenSource(10_000);
        while (true)
        {
            var text = new StringBuilder();
            WebSocketReceiveResult result;
            do
            {
                result = await socket.ReceiveAsync(buffer, cts.Token);
                if (result.MessageType == WebSocketMessageType.Close) return "(closed)";
                text.Append(Encoding.UTF8.GetString(buffer, 0, result.Count));
            } while (!result.EndOfMessage);
            if (text.ToString() != "{\"type\":6}\u001e") return text.ToString();
        }
    }

    /// <summary>Submits a short task, reads it to its end, again and again; every round must succeed.</summary>
    private static async Task<int> WellBehavedAsync(AuthServer server, CancellationToken stop)
    {
        var client = await server.ConnectAsync(Tokens.For("well-behaved"));
        int rounds = 0;
        while (!stop.IsCancellationRequested)
        {
            var task = await client.SubmitAsync(AuthServer.Demo()).DefaultTimeout();
            var sub = await client.SubscribeAsync(task.TaskId).DefaultTimeout();
            AgentEvent? last = null;
            using (var cts = new CancellationTokenSource(10_000))
            {
                await foreach (var ev in sub.ReadEventsAsync(cts.Token)) last = ev;
            }
            Assert.Equal(EventKinds.TaskCompleted, last?.Kind);
            rounds++;
            try { await Task.Delay(500, stop); } catch (OperationCanceledException) { }
        }
        return rounds;
    }

    private static async Task<int> FuzzHubAsync(AuthServer server, string token, Random rng, Action<string> problem, CancellationToken stop)
    {
        int count = 0;
        var hub = new Uri($"ws://{server.BaseAddress.Authority}{HubMethods.Path}?access_token={Uri.EscapeDataString(token)}");
        while (!stop.IsCancellationRequested && count < MaxInputs / 3)
        {
            using var socket = new ClientWebSocket();
            try
            {
                await socket.ConnectAsync(hub, stop);
                await socket.SendAsync(Encoding.UTF8.GetBytes("{\"protocol\":\"json\",\"version\":1}\u001e"), WebSocketMessageType.Text, true, stop);
            }
            catch (Exception) when (stop.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex) when (ex is WebSocketException or IOException)
            {
                continue; // refused or cut off at once; try a new connection
            }
            var reader = ReadAllAsync(socket, problem);
            while (socket.State == WebSocketState.Open && !stop.IsCancellationRequested && count < MaxInputs / 3)
            {
                var (bytes, type) = NextFrame(rng);
                try
                {
                    await socket.SendAsync(bytes, type, true, stop);
                    count++;
                }
                catch (Exception ex) when (ex is WebSocketException or IOException or OperationCanceledException)
                {
                    break; // the server closed this connection (as it should for a broken protocol); open another
                }
            }
            socket.Abort();
            await reader;
        }
        return count;
    }

    private static async Task ReadAllAsync(ClientWebSocket socket, Action<string> problem)
    {
        var buffer = new byte[16 * 1024];
        try
        {
            while (socket.State == WebSocketState.Open)
            {
                var result = await socket.ReceiveAsync(buffer, CancellationToken.None);
                if (result.MessageType == WebSocketMessageType.Close) return;
                CheckNoInternals(Encoding.UTF8.GetString(buffer, 0, result.Count), "hub", problem);
            }
        }
        catch (WebSocketException) { }
        catch (ObjectDisposedException) { }
        catch (OperationCanceledException) { }
    }

    private static void CheckNoInternals(string text, string where, Action<string> problem)
    {
        // SignalR's own "HubException: Method does not exist." names no internals; any other exception type would.
        string scrubbed = text.Replace("HubException: ", "", StringComparison.Ordinal);
        if (scrubbed.Contains("   at ", StringComparison.Ordinal) || scrubbed.Contains(".cs:line", StringComparison.Ordinal) ||
            scrubbed.Contains("Exception", StringComparison.Ordinal) || scrubbed.Contains("Redis", StringComparison.Ordinal))
        {
            problem($"{where} answer shows internals: {text[..Math.Min(text.Length, 300)]}");
        }
        // What a hub method throws other than our refusals (a bug) reaches the client with no
        // "HubException: code: …" after this sentence.
        var unexpected = UnexpectedHubError().Match(text);
        if (unexpected.Success) problem($"{where} method failed unexpectedly: {unexpected.Value}");
    }

    private static (byte[] Bytes, WebSocketMessageType Type) NextFrame(Random rng)
    {
        string Pick(string[] from) => from[rng.Next(from.Length)];
        string Args() => "[" + string.Join(",", Enumerable.Range(0, rng.Next(4)).Select(_ => Pick(Values))) + "]";
        string Invocation() =>
            $"{{\"type\":1,\"invocationId\":\"{rng.Next(1000)}\",\"target\":\"{Pick(Targets)}\",\"arguments\":{Args()}}}\u001e";
        switch (rng.Next(12))
        {
            case 0: case 1: case 2: case 3:
                return (Encoding.UTF8.GetBytes(Invocation()), WebSocketMessageType.Text);
            case 4: // cut short, or with no record separator
                string whole = Invocation();
                return (Encoding.UTF8.GetBytes(whole[..rng.Next(1, whole.Length)]), WebSocketMessageType.Text);
            case 5: // wrong types for the envelope's fields
                string[] envelopes =
                [
                    "{\"type\":\"1\",\"target\":\"GetTask\",\"arguments\":[\"t1\"]}\u001e",
                    "{\"type\":1,\"target\":42,\"arguments\":[\"t1\"]}\u001e",
                    "{\"type\":1,\"target\":\"GetTask\",\"arguments\":{\"0\":\"t1\"}}\u001e",
                    "{\"type\":1,\"invocationId\":7,\"target\":\"GetTask\",\"arguments\":[\"t1\"]}\u001e",
                    "{\"type\":99}\u001e", "{}\u001e", "[]\u001e", "null\u001e", "\u001e", "{\"type\":1}\u001e",
                    $"{{\"type\":{rng.Next(2, 10)},\"invocationId\":\"{rng.Next(10)}\",\"item\":{Pick(Values)},\"result\":{Pick(Values)},\"sequenceId\":{Pick(Values)}}}\u001e",
                ];
                return (Encoding.UTF8.GetBytes(Pick(envelopes)), WebSocketMessageType.Text);
            case 6: // random bytes, as text (invalid UTF-8) or binary
                var junk = new byte[rng.Next(1, 512)];
                rng.NextBytes(junk);
                return (junk, rng.Next(2) == 0 ? WebSocketMessageType.Text : WebSocketMessageType.Binary);
            case 7: // several messages in one frame
                return (Encoding.UTF8.GetBytes(Invocation() + Invocation() + Invocation()), WebSocketMessageType.Text);
            case 8 when rng.Next(8) == 0: // beyond the largest message the hub accepts
                return (Encoding.UTF8.GetBytes($"{{\"type\":1,\"target\":\"SubmitTask\",\"arguments\":[{{\"agent\":\"demo\",\"input\":\"{new string('x', 300_000)}\"}}]}}\u001e"),
                    WebSocketMessageType.Text);
            case 9: // NUL and control characters raw in the JSON
                return (Encoding.UTF8.GetBytes("{\"type\":1,\"target\":\"GetTask\",\"arguments\":[\"t\u0000\u0001\u001f\"]}\u001e"), WebSocketMessageType.Text);
            default:
                return (Encoding.UTF8.GetBytes($"{{\"type\":1,\"target\":\"{Pick(Targets)}\",\"arguments\":{Args()}}}\u001e"), WebSocketMessageType.Text);
        }
    }

    private static readonly string[] PathIds =
    [
        "{x}", "a:b", "..", "../..", "%2e%2e%2f", new string('a', 1000), "t1", "%00", "%F0%9F%99%82", "%ED%A0%80", "*", "ra:*", " ", "%20",
        "99999999999999999999-0", "t019a0000000000000000000000000000",
    ];

    private static readonly string[] Cursors =
        ["0-0", "$", "99999999999999999999-0", "9223372036854775807-9223372036854775807", "18446744073709551615-0", "1-99999999999999999999", "-1", "{x}", "a:b", "", "%00", new string('9', 500), "0-0-0", "%E2%80%AE"];

    private static async Task<int> FuzzHttpAsync(AuthServer server, string token, Random rng, Action<string> problem, CancellationToken stop)
    {
        using var http = server.Http(token);
        int count = 0;
        while (!stop.IsCancellationRequested && count < MaxInputs / 3)
        {
            string id = PathIds[rng.Next(PathIds.Length)];
            string cursor = Cursors[rng.Next(Cursors.Length)];
            (string Method, string Path)[] routes =
            [
                ("POST", "/tasks"), ("GET", $"/tasks/{id}"), ("GET", $"/tasks/{id}/events?cursor={cursor}"), ("POST", $"/tasks/{id}/interrupt"),
                ("POST", $"/threads/{id}/messages"), ("POST", "/ag-ui"), ("POST", $"/ag-ui/{id}"), ("PUT", $"/tasks/{id}"), ("DELETE", "/tasks"),
                ("POST", "/hubs/agents/negotiate?negotiateVersion=" + cursor),
            ];
            var (method, path) = routes[rng.Next(routes.Length)];
            using var request = new HttpRequestMessage(new HttpMethod(method), path);
            if (method != "GET")
            {
                string body = rng.Next(4) switch
                {
                    0 => Values[rng.Next(Values.Length)],
                    1 => $"{{\"threadId\":{Values[rng.Next(Values.Length)]},\"runId\":{Values[rng.Next(Values.Length)]},\"messages\":[{{\"role\":\"user\",\"content\":{Values[rng.Next(Values.Length)]}}}],\"text\":{Values[rng.Next(Values.Length)]},\"reason\":{Values[rng.Next(Values.Length)]}}}",
                    2 => Truncated(Values[rng.Next(Values.Length)], rng),
                    _ => Convert.ToBase64String(RandomBytes(rng)),
                };
                request.Content = new StringContent(body, Encoding.UTF8, rng.Next(5) == 0 ? "text/plain" : "application/json");
            }
            if (rng.Next(4) == 0) request.Headers.TryAddWithoutValidation("Last-Event-ID", Cursors[rng.Next(Cursors.Length)]);
            if (rng.Next(6) == 0) request.Headers.TryAddWithoutValidation("Idempotency-Key", Cursors[rng.Next(Cursors.Length)]);
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
            try
            {
                using var cts = CancellationTokenSource.CreateLinkedTokenSource(stop);
                cts.CancelAfter(2_000);
                using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cts.Token);
                count++;
                if ((int)response.StatusCode >= 500) problem($"{method} {path} answered {(int)response.StatusCode}");
                if (response.Content.Headers.ContentType?.MediaType != "text/event-stream")
                {
                    CheckNoInternals(await response.Content.ReadAsStringAsync(cts.Token), $"{method} {path}", problem);
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                break;
            }
            catch (OperationCanceledException)
            {
                count++; // a stream that stayed open past our patience: fine, we just stop reading it
            }
            catch (HttpRequestException) when (id.Length > 500 || cursor.Length > 400)
            {
                count++; // Kestrel refuses an over-long request line before the app sees it
            }
        }
        return count;
    }

    [GeneratedRegex("An unexpected error occurred invoking '[^']*' on the server\\.\"")]
    private static partial Regex UnexpectedHubError();

    private static string Truncated(string value, Random rng) => value[..rng.Next(1, value.Length + 1)];

    private static byte[] RandomBytes(Random rng)
    {
        var bytes = new byte[rng.Next(1, 256)];
        rng.NextBytes(bytes);
        return bytes;
    }
}
