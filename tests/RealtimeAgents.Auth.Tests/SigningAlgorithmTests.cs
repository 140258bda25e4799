using System.Net;
using RealtimeAgents.Server;
using RealtimeAgents.Testing;
using Xunit;

namespace RealtimeAgents.Auth.Tests;

/// <summary>An HMAC key must be as long as the hash: checked at startup against the algorithms allowed, in plain words.</summary>
public sealed class SigningAlgorithmTests
{
    private const string Key44 = "a 44-byte signing key: 0123456789abcdef01234";
    private const string Key64 = "a 64-byte signing key for HS512: 0123456789abcdef0123456789abcde";

    [Theory]
    [InlineData("HS384", 48)]
    [InlineData("HS512", 64)]
    public void AKeyTooShortForAnAllowedAlgorithm_StopsStartup_SayingWhatItNeeds(string alg, int needs)
    {
        Assert.Equal(44, Key44.Length);
        var ex = Assert.Throws<InvalidOperationException>(() => RealtimeAgentsServer.CreateBuilder(
            ["--urls", "http://127.0.0.1:0", "--environment", "Testing", $"--RealtimeAgents:Auth:SigningKey={Key44}",
             "--RealtimeAgents:Auth:SigningAlgorithms:0=HS256", $"--RealtimeAgents:Auth:SigningAlgorithms:1={alg}"]));
        Assert.Contains("44 bytes", ex.Message, StringComparison.Ordinal);
        Assert.Contains($"{alg}", ex.Message, StringComparison.Ordinal);
        Assert.Contains($"at least {needs} bytes", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("HS256")]
    [InlineData("HS384")]
    [InlineData("HS512")]
    public async Task ALongKey_AcceptsEveryHmacAlgorithm(string alg)
    {
        Assert.Equal(64, Key64.Length);
        await using var server = await AuthServer.StartAsync($"--RealtimeAgents:Auth:SigningKey={Key64}",
            "--RealtimeAgents:Auth:SigningAlgorithms:0=HS256", "--RealtimeAgents:Auth:SigningAlgorithms:1=HS384", "--RealtimeAgents:Auth:SigningAlgorithms:2=HS512");
        using var http = server.Http(Tokens.For("long-key", key: Key64, alg: alg));
        using var response = await http.GetAsync("/tasks/t019a0000000000000000000000000000").DefaultTimeout();
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode); // authenticated: the task just does not exist
    }

    [Fact]
    public async Task AShortKey_WithNoListGiven_AcceptsWhatItCanSign_AndSaysWhyTheRestIsRefused()
    {
        await using var server = await AuthServer.StartAsync($"--RealtimeAgents:Auth:SigningKey={Key44}");
        using (var ok = server.Http(Tokens.For("short-key", key: Key44)))
        using (var response = await ok.GetAsync("/tasks/t019a0000000000000000000000000000").DefaultTimeout())
        {
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        }
        using var refused = server.Http(Tokens.For("short-key", key: Key44, alg: "HS384"));
        using var answer = await refused.GetAsync("/tasks/t019a0000000000000000000000000000").DefaultTimeout();
        var (status, problem) = await AuthServer.ProblemAsync(answer);
        Assert.Equal(401, status);
        Assert.Equal("The access token is signed with an algorithm this service does not accept.", problem.GetProperty("detail").GetString());
    }
}
