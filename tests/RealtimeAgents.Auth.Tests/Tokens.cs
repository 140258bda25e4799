using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace RealtimeAgents.Auth.Tests;

/// <summary>Mints JWTs the way an identity provider would, with the test's own key, and crafts broken ones.</summary>
public static class Tokens
{
    public const string SigningKey = "test-only signing key: 0123456789abcdef0123456789abcdef";

    /// <summary>An HS256 token for <paramref name="sub"/> valid for <paramref name="lifetime"/> (default 10 minutes).</summary>
    public static string For(string sub, string[]? groups = null, TimeSpan? lifetime = null, string key = SigningKey, string alg = "HS256")
    {
        long now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var payload = new Dictionary<string, object>
        {
            ["sub"] = sub,
            ["iat"] = now,
            ["exp"] = now + (long)(lifetime ?? TimeSpan.FromMinutes(10)).TotalSeconds,
        };
        if (groups is not null) payload["groups"] = groups;
        return Sign(payload, key, alg);
    }

    /// <summary>A token with exactly these claims (e.g. none of "exp").</summary>
    public static string Sign(Dictionary<string, object> payload, string key = SigningKey, string alg = "HS256")
    {
        string header = B64(JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, string> { ["alg"] = alg, ["typ"] = "JWT" }));
        string body = B64(JsonSerializer.SerializeToUtf8Bytes(payload));
        string signingInput = header + "." + body;
        if (alg == "none") return signingInput + ".";
        byte[] keyBytes = Encoding.UTF8.GetBytes(key), input = Encoding.ASCII.GetBytes(signingInput);
        byte[] signature = alg switch
        {
            "HS384" => HMACSHA384.HashData(keyBytes, input),
            "HS512" => HMACSHA512.HashData(keyBytes, input),
            _ => HMACSHA256.HashData(keyBytes, input),
        };
        return signingInput + "." + B64(signature);
    }

    /// <summary>The expiry of a token minted here.</summary>
    public static DateTimeOffset ExpiryOf(string token)
    {
        string body = token.Split('.')[1].Replace('-', '+').Replace('_', '/');
        body = body.PadRight(body.Length + (4 - body.Length % 4) % 4, '=');
        using var doc = JsonDocument.Parse(Convert.FromBase64String(body));
        return DateTimeOffset.FromUnixTimeSeconds(doc.RootElement.GetProperty("exp").GetInt64());
    }

    private static string B64(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
