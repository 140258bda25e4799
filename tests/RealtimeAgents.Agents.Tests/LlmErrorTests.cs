using RealtimeAgents.Conformance;
using RealtimeAgents.Contracts;
using Xunit;

namespace RealtimeAgents.Agents.Tests;

/// <summary>Each refusal of the endpoint ends the task with task.failed, a code and a message the user can act on.</summary>
public sealed class LlmErrorTests
{
    public static TheoryData<int, string, string?, string, string> Refusals => new()
    {
        {
            401, """{"error":{"message":"Incorrect API key provided: sk-test-****-key. You can find your API key at https://platform.openai.com/account/api-keys.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}""",
            null, "bad_api_key", "refused the API key (401): Incorrect API key provided"
        },
        {
            404, """{"error":{"message":"The model `gpt-4o-mini` does not exist or you do not have access to it.","type":"invalid_request_error","param":null,"code":"model_not_found"}}""",
            null, "unknown_model", "The model 'gpt-4o-mini' is not available"
        },
        {
            404, """{"error":{"message":"model \"gpt-4o-mini\" not found, try pulling it first","type":"api_error","param":null,"code":null}}""",
            null, "unknown_model", "try pulling it first"
        },
        {
            429, """{"error":{"message":"Rate limit reached for gpt-4o-mini in organization org-test on requests per min (RPM): Limit 3, Used 3, Requested 1.","type":"requests","param":null,"code":"rate_limit_exceeded"}}""",
            "retry-after:20", "rate_limited", "Retry after 20 s."
        },
        {
            429, """{"error":{"message":"Rate limit reached.","type":"requests","param":null,"code":"rate_limit_exceeded"}}""",
            "retry-after-ms:1500", "rate_limited", "Retry after 2 s."
        },
        {
            400, """{"error":{"message":"This model's maximum context length is 128000 tokens. However, your messages resulted in 130542 tokens. Please reduce the length of the messages.","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}}""",
            null, "context_too_long", "too long for the model 'gpt-4o-mini'"
        },
        {
            500, """{"error":{"message":"The server had an error while processing your request. Sorry about that!","type":"server_error","param":null,"code":null}}""",
            null, "model_error", "failed (500): The server had an error"
        },
        {
            503, """{"error":"model is loading"}""",
            null, "model_error", "failed (503): model is loading."
        },
        {
            400, """{"object":"error","message":"This model's maximum context length is 4096 tokens. However, you requested 5000 tokens.","type":"BadRequestError","param":null,"code":400}""",
            null, "context_too_long", "maximum context length is 4096 tokens"
        },
    };

    [Theory]
    [MemberData(nameof(Refusals))]
    public async Task ARefusalOfTheEndpoint_EndsTheTaskWithItsCodeAndAClearMessage(int status, string body, string? header, string code, string message)
    {
        await using var kit = await LlmKit.StartAsync();
        var headers = new Dictionary<string, string>();
        if (header is not null) headers[header.Split(':')[0]] = header.Split(':')[1];
        kit.Server.Enqueue(FakeReply.Error(status, body, headers));
        var task = await kit.SubmitAsync("Hello?");
        var events = await kit.CollectAsync(task.TaskId);

        StreamAssert.CompleteTask(events);
        Assert.Equal(EventKinds.TaskFailed, events[^1].Kind);
        var failed = events[^1].DataAs<TaskFailedData>();
        Assert.Equal(code, failed.Code);
        Assert.Contains(message, failed.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnEndpointNobodyListensOn_FailsTheTaskWithModelError_NamingTheUrl()
    {
        await using var probe = await FakeChatServer.StartAsync();
        string deadUrl = probe.BaseUrl.ToString();
        await probe.DisposeAsync();
        await using var kit = await LlmKit.StartAsync(o => o.BaseUrl = deadUrl);
        var task = await kit.SubmitAsync("Hello?");
        var events = await kit.CollectAsync(task.TaskId);

        var failed = events[^1].DataAs<TaskFailedData>();
        Assert.Equal("model_error", failed.Code);
        Assert.Contains($"Could not reach the model endpoint at {deadUrl}", failed.Message, StringComparison.Ordinal);
    }
}
