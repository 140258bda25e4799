using System.Security.Cryptography;
using System.Text;

namespace RealtimeAgents.Redis;

/// <summary>
/// A Lua script and its SHA1, computed locally exactly as Redis computes it (over the UTF-8 text), so
/// EVALSHA can be tried first without asking the server. Create one per script and keep it.
/// </summary>
public sealed class RedisScript
{
    public RedisScript(string text)
    {
        ArgumentException.ThrowIfNullOrEmpty(text);
        Text = text;
#pragma warning disable CA5350 // SHA1 is what Redis uses to name scripts; no security relies on it.
        Sha1 = Convert.ToHexStringLower(SHA1.HashData(Encoding.UTF8.GetBytes(text)));
#pragma warning restore CA5350
    }

    public string Text { get; }

    /// <summary>Lower-case hex, as SCRIPT LOAD returns it.</summary>
    public string Sha1 { get; }

    /// <summary>Reads a script from an embedded resource or file next to the code that uses it.</summary>
    public static RedisScript FromFile(string path) => new(File.ReadAllText(path));

    public override string ToString() => Sha1;
}
