using Microsoft.Extensions.Configuration;

namespace RealtimeAgents.Agents.Llm;

/// <summary>
/// Where the llm agent's model lives and how to call it. Bound from the configuration section
/// <c>RealtimeAgents:Llm</c> (environment: <c>RealtimeAgents__Llm__BaseUrl</c>, …); the
/// conventional <c>OPENAI_API_KEY</c> and <c>OPENAI_BASE_URL</c> fill in what that section leaves
/// unset. Nothing here is required at startup: a missing key fails the task, not the server.
/// </summary>
public sealed class LlmOptions
{
    /// <summary>The configuration section.</summary>
    public const string Section = "RealtimeAgents:Llm";

    /// <summary>The OpenAI endpoint, used when no base URL is configured.</summary>
    public const string OpenAIBaseUrl = "https://api.openai.com/v1";

    /// <summary>
    /// The API root that <c>/chat/completions</c> is appended to: https://api.openai.com/v1,
    /// http://localhost:11434/v1 (Ollama), http://localhost:8000/v1 (vLLM), http://localhost:8080/v1
    /// (llama.cpp), https://NAME.openai.azure.com/openai/v1 (Azure OpenAI).
    /// </summary>
    public string BaseUrl { get; set; } = OpenAIBaseUrl;

    /// <summary>Sent as <c>Authorization: Bearer</c> (and <c>api-key</c> for Azure); may be empty for local servers.</summary>
    public string? ApiKey { get; set; }

    /// <summary>The model name the endpoint knows.</summary>
    public string Model { get; set; } = "gpt-4o-mini";

    /// <summary>Sampling temperature; the endpoint's default when null.</summary>
    public float? Temperature { get; set; }

    /// <summary>Upper bound of tokens per model call (sent as <c>max_tokens</c>); the endpoint's default when null.</summary>
    public int? MaxTokens { get; set; }

    /// <summary>The system prompt that starts every conversation; none when empty.</summary>
    public string? SystemPrompt { get; set; } =
        "You are a helpful assistant. Use the tools when they help: calculator for arithmetic, current_time for dates and times, notepad to remember things for this conversation.";

    /// <summary>Model calls per task: each tool round is one step. Default 8.</summary>
    public int MaxSteps { get; set; } = 8;

    /// <summary>Earlier tasks of the thread replayed to the model as conversation memory. Default 20.</summary>
    public int MaxHistoryTasks { get; set; } = 20;

    /// <summary>How long to wait for the endpoint to answer a call with its response headers. Default 100 s.</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(100);

    /// <summary>
    /// Fills what is still unset (no key; the OpenAI URL, which is the default) from
    /// <c>OPENAI_API_KEY</c> / <c>OPENAI_BASE_URL</c> in <paramref name="configuration"/>, which holds
    /// the environment in a host.
    /// </summary>
    internal void ApplyFallbacks(IConfiguration configuration)
    {
        if (string.IsNullOrWhiteSpace(ApiKey) && configuration["OPENAI_API_KEY"] is { Length: > 0 } key) ApiKey = key;
        if (BaseUrl == OpenAIBaseUrl && configuration["OPENAI_BASE_URL"] is { Length: > 0 } url) BaseUrl = url;
    }
}
