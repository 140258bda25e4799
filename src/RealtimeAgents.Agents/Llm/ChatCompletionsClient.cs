using System.Buffers;
using System.Net.Http.Headers;
using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.AI;

namespace RealtimeAgents.Agents.Llm;

/// <summary>
/// An <see cref="IChatClient"/> for any endpoint that speaks OpenAI's chat-completions API with
/// streaming (OpenAI, Azure OpenAI's v1 API, Ollama, vLLM, llama.cpp's server, DeepSeek, …), over
/// plain HTTP and the runtime's SSE parser.
/// </summary>
/// <remarks>
/// Why not the OpenAI package: its streaming types do not surface the <c>reasoning_content</c> /
/// <c>reasoning</c> delta fields the open servers use for thinking tokens, it retries 429 and 5xx
/// on its own (hiding rate limits and delaying an interrupt), and an <c>error</c> object sent
/// mid-stream does not surface as an error. Reading the chunks ourselves keeps all three.
/// <para>Streaming yields <see cref="TextReasoningContent"/>, <see cref="TextContent"/>,
/// <see cref="ToolCallDeltaContent"/> (as the model writes each call), then one
/// <see cref="FunctionCallContent"/> per call and a <see cref="UsageContent"/> once the stream
/// has ended. Errors are thrown as <see cref="Core.Runtime.AgentException"/> with the codes in
/// <see cref="LlmErrors"/>; cancelling the token aborts the HTTP request at once.</para>
/// </remarks>
public sealed class ChatCompletionsClient : IChatClient
{
    private static readonly MediaTypeHeaderValue JsonType = new("application/json") { CharSet = "utf-8" };
    private readonly HttpClient _http;
    private readonly LlmOptions _options;
    private readonly Uri? _endpoint;
    private readonly bool _azure;

    /// <summary>A client for the endpoint in <paramref name="options"/>.</summary>
    /// <param name="options">Endpoint, key, model and defaults.</param>
    /// <param name="handler">The HTTP handler (a test or benchmark hook); a pooled socket handler when null.</param>
    public ChatCompletionsClient(LlmOptions options, HttpMessageHandler? handler = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        handler ??= new SocketsHttpHandler
        {
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            // An interrupted answer is not read to its end to reuse the connection: the connection
            // is closed, so the server sees the request aborted and stops generating at once.
            MaxResponseDrainSize = 0,
            ResponseDrainTimeout = TimeSpan.Zero,
        };
        // The request timeout covers the wait for response headers only (applied per call below);
        // a long answer may stream for as long as it needs.
        _http = new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
        string baseUrl = options.BaseUrl.TrimEnd('/');
        if (Uri.TryCreate(baseUrl + "/chat/completions", UriKind.Absolute, out var endpoint) &&
            endpoint.Scheme is "http" or "https")
        {
            _endpoint = endpoint;
            _azure = endpoint.Host.EndsWith(".openai.azure.com", StringComparison.OrdinalIgnoreCase) ||
                     endpoint.Host.EndsWith(".cognitiveservices.azure.com", StringComparison.OrdinalIgnoreCase);
        }
    }

    /// <inheritdoc />
    public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        var updates = new List<ChatResponseUpdate>();
        await foreach (var update in GetStreamingResponseAsync(messages, options, cancellationToken).ConfigureAwait(false))
        {
            // The pieces of tool calls are repeated whole at the end; keep only those.
            if (update.Contents.Any(c => c is ToolCallDeltaContent))
            {
                update.Contents = [.. update.Contents.Where(c => c is not ToolCallDeltaContent)];
            }
            updates.Add(update);
        }
        return updates.ToChatResponse();
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages,
        ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        string model = options?.ModelId ?? _options.Model;
        using var response = await SendAsync(messages, options, model, cancellationToken).ConfigureAwait(false);
        var body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using var _ = body.ConfigureAwait(false);
        var chunks = SseParser.Create(body, static (_, data) => Chunk.Parse(data)).EnumerateAsync(cancellationToken);
        var calls = new SortedDictionary<int, PendingCall>();
        UsageDetails? usage = null;
        string? responseId = null, finishReason = null;
        await using var e = chunks.GetAsyncEnumerator(cancellationToken);
        while (await NextAsync(e, cancellationToken).ConfigureAwait(false))
        {
            var chunk = e.Current.Data;
            if (chunk is null) continue; // a comment, a keep-alive or an event without JSON
            if (chunk.Done) break;
            if (chunk.Error is { } error) throw LlmErrors.FromStreamError(error, model);
            responseId ??= chunk.Id;
            var contents = new List<AIContent>(2);
            if (chunk.Reasoning is { Length: > 0 } reasoning) contents.Add(new TextReasoningContent(reasoning));
            if (chunk.Content is { Length: > 0 } content) contents.Add(new TextContent(content));
            if (chunk.ToolCalls is { } toolCalls)
            {
                foreach (var d in toolCalls)
                {
                    if (!calls.TryGetValue(d.Index, out var call)) calls[d.Index] = call = new PendingCall();
                    call.Id ??= d.CallId;
                    call.Name ??= d.Name;
                    call.Arguments.Append(d.ArgumentsDelta);
                    contents.Add(d);
                }
            }
            if (chunk.Usage is { } u) usage = u;
            if (chunk.FinishReason is { } reason) finishReason = reason;
            if (contents.Count == 0 && chunk.FinishReason is null) continue;
            yield return new ChatResponseUpdate(ChatRole.Assistant, contents)
            {
                ResponseId = chunk.Id,
                ModelId = chunk.Model,
                FinishReason = chunk.FinishReason is { } f ? ToFinishReason(f) : null,
            };
        }
        if (finishReason is null) throw LlmErrors.StreamBroken(null);

        var tail = new List<AIContent>(calls.Count + 1);
        foreach (var (index, call) in calls)
        {
            string id = string.IsNullOrEmpty(call.Id) ? $"call_{responseId}_{index}" : call.Id;
            tail.Add(ToFunctionCall(id, call.Name ?? "", call.Arguments.ToString()));
        }
        if (usage is not null) tail.Add(new UsageContent(usage));
        if (tail.Count > 0) yield return new ChatResponseUpdate(ChatRole.Assistant, tail) { ResponseId = responseId };
    }

    /// <summary>Moves the SSE enumerator on, reporting a broken connection as a model error (a cancel stays a cancel).</summary>
    private static async ValueTask<bool> NextAsync(IAsyncEnumerator<SseItem<Chunk?>> e, CancellationToken ct)
    {
        try
        {
            return await e.MoveNextAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or HttpRequestException && !ct.IsCancellationRequested)
        {
            throw LlmErrors.StreamBroken(ex);
        }
        catch (JsonException ex)
        {
            throw LlmErrors.BadChunk(ex);
        }
    }

    private async Task<HttpResponseMessage> SendAsync(IEnumerable<ChatMessage> messages, ChatOptions? options, string model,
        CancellationToken ct)
    {
        if (_endpoint is null) throw LlmErrors.BadBaseUrl(_options.BaseUrl);
        bool hasKey = !string.IsNullOrWhiteSpace(_options.ApiKey);
        if (!hasKey && _endpoint.Host.Equals("api.openai.com", StringComparison.OrdinalIgnoreCase)) throw LlmErrors.NotConfigured();

        using var request = new HttpRequestMessage(HttpMethod.Post, _endpoint);
        var content = new ByteArrayContent(WriteRequest(messages, options, model));
        content.Headers.ContentType = JsonType;
        request.Content = content;
        request.Headers.Accept.ParseAdd("text/event-stream");
        if (hasKey)
        {
            if (_azure) request.Headers.Add("api-key", _options.ApiKey);
            else request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _options.ApiKey);
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(_options.RequestTimeout);
        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            throw LlmErrors.Timeout(_options.BaseUrl, _options.RequestTimeout);
        }
        catch (HttpRequestException ex)
        {
            throw LlmErrors.Unreachable(_options.BaseUrl, ex);
        }
        if (response.IsSuccessStatusCode) return response;
        using (response)
        {
            string body;
            try { body = await response.Content.ReadAsStringAsync(timeout.Token).ConfigureAwait(false); }
            catch (Exception ex) when (ex is IOException or HttpRequestException) { body = ""; }
            throw LlmErrors.FromResponse(response.StatusCode, body, response.Headers, model, _options.BaseUrl);
        }
    }

    /// <summary>
    /// The request body: <c>{"model", "messages", "stream": true, "stream_options": {"include_usage": true},
    /// "temperature"?, "max_tokens"?, "tools"?}</c>. Messages map as system/user text, assistant
    /// text with <c>tool_calls</c> (arguments as a JSON string), and one <c>tool</c> message per
    /// function result. Reasoning is never sent back: DeepSeek refuses it in the input.
    /// </summary>
    internal byte[] WriteRequest(IEnumerable<ChatMessage> messages, ChatOptions? options, string model)
    {
        var buffer = new ArrayBufferWriter<byte>(4096);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("model", model);
            w.WriteStartArray("messages");
            if (options?.Instructions is { Length: > 0 } instructions)
            {
                w.WriteStartObject();
                w.WriteString("role", "system");
                w.WriteString("content", instructions);
                w.WriteEndObject();
            }
            foreach (var m in messages) WriteMessage(w, m);
            w.WriteEndArray();
            w.WriteBoolean("stream", true);
            w.WriteStartObject("stream_options");
            w.WriteBoolean("include_usage", true);
            w.WriteEndObject();
            if ((options?.Temperature ?? _options.Temperature) is { } t) w.WriteNumber("temperature", t);
            if ((options?.MaxOutputTokens ?? _options.MaxTokens) is { } max) w.WriteNumber("max_tokens", max);
            var tools = options?.Tools?.OfType<AIFunctionDeclaration>().ToList();
            if (tools is { Count: > 0 })
            {
                w.WriteStartArray("tools");
                foreach (var tool in tools)
                {
                    w.WriteStartObject();
                    w.WriteString("type", "function");
                    w.WriteStartObject("function");
                    w.WriteString("name", tool.Name);
                    if (!string.IsNullOrEmpty(tool.Description)) w.WriteString("description", tool.Description);
                    w.WritePropertyName("parameters");
                    tool.JsonSchema.WriteTo(w);
                    w.WriteEndObject();
                    w.WriteEndObject();
                }
                w.WriteEndArray();
            }
            w.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    private static void WriteMessage(Utf8JsonWriter w, ChatMessage m)
    {
        var results = m.Contents.OfType<FunctionResultContent>().ToList();
        if (results.Count > 0)
        {
            foreach (var r in results)
            {
                w.WriteStartObject();
                w.WriteString("role", "tool");
                w.WriteString("tool_call_id", r.CallId);
                w.WriteString("content", ResultText(r.Result));
                w.WriteEndObject();
            }
            return;
        }
        w.WriteStartObject();
        w.WriteString("role", m.Role.Value);
        string text = string.Concat(m.Contents.OfType<TextContent>().Select(c => c.Text));
        var calls = m.Contents.OfType<FunctionCallContent>().ToList();
        if (calls.Count > 0 && text.Length == 0) w.WriteNull("content");
        else w.WriteString("content", text);
        if (calls.Count > 0)
        {
            w.WriteStartArray("tool_calls");
            foreach (var c in calls)
            {
                w.WriteStartObject();
                w.WriteString("id", c.CallId);
                w.WriteString("type", "function");
                w.WriteStartObject("function");
                w.WriteString("name", c.Name);
                w.WriteString("arguments", ArgumentsText(c));
                w.WriteEndObject();
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }
        w.WriteEndObject();
    }

    private static string ResultText(object? result) => result switch
    {
        null => "null",
        string s => s,
        JsonElement e => e.GetRawText(),
        _ => result.ToString() ?? "",
    };

    /// <summary>The arguments as the model wrote them when known, else the parsed ones re-serialized.</summary>
    private static string ArgumentsText(FunctionCallContent call)
    {
        if (call.RawRepresentation is string raw) return raw;
        if (call.Arguments is null) return "{}";
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            foreach (var (name, value) in call.Arguments)
            {
                w.WritePropertyName(name);
                switch (value)
                {
                    case null: w.WriteNullValue(); break;
                    case JsonElement e: e.WriteTo(w); break;
                    case string s: w.WriteStringValue(s); break;
                    case bool b: w.WriteBooleanValue(b); break;
                    case int i: w.WriteNumberValue(i); break;
                    case long l: w.WriteNumberValue(l); break;
                    case double d: w.WriteNumberValue(d); break;
                    default: w.WriteStringValue(value.ToString()); break;
                }
            }
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static FunctionCallContent ToFunctionCall(string id, string name, string arguments)
    {
        try
        {
            using var doc = JsonDocument.Parse(arguments.Length == 0 ? "{}" : arguments);
            if (doc.RootElement.ValueKind != JsonValueKind.Object) throw new JsonException("the arguments are not a JSON object");
            var args = new Dictionary<string, object?>(StringComparer.Ordinal);
            foreach (var p in doc.RootElement.EnumerateObject()) args[p.Name] = p.Value.Clone();
            return new FunctionCallContent(id, name, args) { RawRepresentation = arguments };
        }
        catch (JsonException ex)
        {
            return new FunctionCallContent(id, name) { RawRepresentation = arguments, Exception = ex };
        }
    }

    private static ChatFinishReason ToFinishReason(string reason) => reason switch
    {
        "stop" => ChatFinishReason.Stop,
        "length" => ChatFinishReason.Length,
        "tool_calls" or "function_call" => ChatFinishReason.ToolCalls,
        "content_filter" => ChatFinishReason.ContentFilter,
        _ => new ChatFinishReason(reason),
    };

    /// <inheritdoc />
    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        if (serviceKey is not null) return null;
        if (serviceType == typeof(ChatClientMetadata)) return new ChatClientMetadata("openai-compatible", _endpoint, _options.Model);
        return serviceType.IsInstanceOfType(this) ? this : null;
    }

    /// <inheritdoc />
    public void Dispose() => _http.Dispose();

    private sealed class PendingCall
    {
        public string? Id;
        public string? Name;
        public readonly StringBuilder Arguments = new();
    }

    /// <summary>
    /// One <c>data:</c> payload of the stream:
    /// <c>{"id","model","choices":[{"index":0,"delta":{"role","content","reasoning_content"|"reasoning",
    /// "tool_calls":[{"index","id","type","function":{"name","arguments"}}]},"finish_reason"}],"usage":{"prompt_tokens","completion_tokens"}}</c>,
    /// or <c>{"error":{…}}</c>, or the literal <c>[DONE]</c>. Only choice 0 is read (we never ask for n &gt; 1).
    /// </summary>
    internal sealed class Chunk
    {
        private static readonly Chunk DoneChunk = new() { Done = true };

        public bool Done { get; private init; }
        public string? Id { get; private set; }
        public string? Model { get; private set; }
        public string? Content { get; private set; }
        public string? Reasoning { get; private set; }
        public List<ToolCallDeltaContent>? ToolCalls { get; private set; }
        public string? FinishReason { get; private set; }
        public UsageDetails? Usage { get; private set; }
        public JsonElement? Error { get; private set; }

        public static Chunk? Parse(ReadOnlySpan<byte> data)
        {
            data = data.Trim((byte)' ');
            if (data.SequenceEqual("[DONE]"u8)) return DoneChunk;
            if (data.IsEmpty || data[0] != (byte)'{') return null;
            var reader = new Utf8JsonReader(data);
            using var doc = JsonDocument.ParseValue(ref reader);
            var root = doc.RootElement;
            var chunk = new Chunk();
            if (root.TryGetProperty("error", out var error) && error.ValueKind is not JsonValueKind.Null)
            {
                chunk.Error = error.Clone();
                return chunk;
            }
            chunk.Id = String(root, "id");
            chunk.Model = String(root, "model");
            if (root.TryGetProperty("choices", out var choices) && choices.ValueKind == JsonValueKind.Array && choices.GetArrayLength() > 0)
            {
                var choice = choices[0];
                chunk.FinishReason = String(choice, "finish_reason");
                if (choice.TryGetProperty("delta", out var delta) && delta.ValueKind == JsonValueKind.Object)
                {
                    chunk.Content = String(delta, "content");
                    chunk.Reasoning = String(delta, "reasoning_content") ?? String(delta, "reasoning");
                    if (delta.TryGetProperty("tool_calls", out var calls) && calls.ValueKind == JsonValueKind.Array)
                    {
                        chunk.ToolCalls = new List<ToolCallDeltaContent>(calls.GetArrayLength());
                        int position = 0;
                        foreach (var call in calls.EnumerateArray())
                        {
                            // Some servers omit the index when they send each call whole.
                            int index = call.TryGetProperty("index", out var i) && i.ValueKind == JsonValueKind.Number && i.TryGetInt32(out int n) ? n : position;
                            position++;
                            var function = call.TryGetProperty("function", out var f) && f.ValueKind == JsonValueKind.Object ? f : default;
                            chunk.ToolCalls.Add(new ToolCallDeltaContent(index)
                            {
                                CallId = String(call, "id"),
                                Name = function.ValueKind == JsonValueKind.Object ? String(function, "name") : null,
                                ArgumentsDelta = function.ValueKind == JsonValueKind.Object ? Arguments(function) : null,
                            });
                        }
                    }
                }
            }
            if (root.TryGetProperty("usage", out var usage) && usage.ValueKind == JsonValueKind.Object)
            {
                chunk.Usage = new UsageDetails
                {
                    InputTokenCount = Long(usage, "prompt_tokens"),
                    OutputTokenCount = Long(usage, "completion_tokens"),
                    TotalTokenCount = Long(usage, "total_tokens"),
                };
            }
            return chunk;
        }

        private static string? String(JsonElement e, string name) =>
            e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

        private static long? Long(JsonElement e, string name) =>
            e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out long l) ? l : null;

        /// <summary>Arguments are a string piece by the spec; a few servers send the whole object.</summary>
        private static string? Arguments(JsonElement function) =>
            function.TryGetProperty("arguments", out var a) ? a.ValueKind switch
            {
                JsonValueKind.String => a.GetString(),
                JsonValueKind.Object => a.GetRawText(),
                _ => null,
            } : null;
    }
}
