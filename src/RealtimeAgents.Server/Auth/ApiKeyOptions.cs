namespace RealtimeAgents.Server.Auth;

/// <summary>One API key and the user it acts as.</summary>
public sealed class ApiKeyOptions
{
    /// <summary>The key itself (at least 32 characters).</summary>
    public string Key { get; set; } = "";

    /// <summary>The user id the key acts as: tasks it submits belong to this user.</summary>
    public string UserId { get; set; } = "";

    /// <summary>Groups of that user.</summary>
    public List<string> Groups { get; } = [];
}
