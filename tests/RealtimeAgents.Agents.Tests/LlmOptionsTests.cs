using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using RealtimeAgents.Agents.Llm;
using Xunit;

namespace RealtimeAgents.Agents.Tests;

public sealed class LlmOptionsTests
{
    private static LlmOptions Resolve(Dictionary<string, string?> settings, Action<LlmOptions>? configure = null)
    {
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder().AddInMemoryCollection(settings).Build());
        services.AddLlmAgent(configure);
        using var provider = services.BuildServiceProvider();
        return provider.GetRequiredService<IOptions<LlmOptions>>().Value;
    }

    [Fact]
    public void TheSectionIsBound_AndWinsOverTheOpenAIVariables()
    {
        var o = Resolve(new()
        {
            ["RealtimeAgents:Llm:BaseUrl"] = "http://localhost:11434/v1",
            ["RealtimeAgents:Llm:ApiKey"] = "from-section",
            ["RealtimeAgents:Llm:Model"] = "llama3.2",
            ["RealtimeAgents:Llm:Temperature"] = "0.2",
            ["RealtimeAgents:Llm:MaxTokens"] = "512",
            ["RealtimeAgents:Llm:MaxSteps"] = "3",
            ["RealtimeAgents:Llm:SystemPrompt"] = "Be brief.",
            ["OPENAI_API_KEY"] = "from-env",
            ["OPENAI_BASE_URL"] = "https://elsewhere.example/v1",
        });
        Assert.Equal(("http://localhost:11434/v1", "from-section", "llama3.2"), (o.BaseUrl, o.ApiKey, o.Model));
        Assert.Equal((0.2f, 512, 3, "Be brief."), (o.Temperature, o.MaxTokens, o.MaxSteps, o.SystemPrompt));
    }

    [Fact]
    public void OpenAIApiKeyAndBaseUrl_FillWhatTheSectionLeavesUnset()
    {
        var o = Resolve(new() { ["OPENAI_API_KEY"] = "sk-env", ["OPENAI_BASE_URL"] = "https://proxy.example/v1" });
        Assert.Equal(("https://proxy.example/v1", "sk-env"), (o.BaseUrl, o.ApiKey));
    }

    [Fact]
    public void CodeConfiguration_WinsOverTheOpenAIVariables_AndDefaultsNeedNoKey()
    {
        var o = Resolve(new() { ["OPENAI_BASE_URL"] = "https://proxy.example/v1" }, o => o.BaseUrl = "http://127.0.0.1:8000/v1");
        Assert.Equal("http://127.0.0.1:8000/v1", o.BaseUrl);
        Assert.Null(o.ApiKey);
        Assert.Equal((8, 20, "gpt-4o-mini"), (o.MaxSteps, o.MaxHistoryTasks, o.Model));
    }
}
