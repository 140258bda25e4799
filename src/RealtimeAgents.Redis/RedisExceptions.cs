namespace RealtimeAgents.Redis;

/// <summary>Base type of every exception this client throws on purpose.</summary>
public abstract class RedisException : Exception
{
    private protected RedisException(string message, Exception? inner = null) : base(message, inner)
    {
    }
}

/// <summary>
/// The server answered with an error reply (<c>-ERR ...</c> or a RESP3 blob error).
/// <see cref="Prefix"/> is the first word of the message (ERR, WRONGTYPE, NOSCRIPT, BUSYGROUP, NOAUTH...),
/// which is how Redis classifies its errors.
/// </summary>
public sealed class RedisServerException : RedisException
{
    public RedisServerException(string serverMessage)
        : base(serverMessage)
    {
        ServerMessage = serverMessage;
        int space = serverMessage.IndexOf(' ', StringComparison.Ordinal);
        string first = space < 0 ? serverMessage : serverMessage[..space];
        Prefix = first.Length > 0 && IsUpperWord(first) ? first : "ERR";
    }

    /// <summary>The full error text the server sent, prefix included.</summary>
    public string ServerMessage { get; }

    /// <summary>The error class, e.g. <c>WRONGTYPE</c>; <c>ERR</c> when the server gave none.</summary>
    public string Prefix { get; }

    private static bool IsUpperWord(string s)
    {
        foreach (char c in s)
        {
            if (c is not ((>= 'A' and <= 'Z') or '_' or (>= '0' and <= '9')))
            {
                return false;
            }
        }

        return true;
    }
}

/// <summary>The bytes from the server are not valid RESP. The connection that produced them is torn down.</summary>
public sealed class RedisProtocolException : RedisException
{
    public RedisProtocolException(string message) : base(message)
    {
    }
}

/// <summary>A command got no reply within the command timeout (or could not be sent in time while disconnected).</summary>
public sealed class RedisTimeoutException : RedisException
{
    public RedisTimeoutException(string message) : base(message)
    {
    }
}

/// <summary>The connection is down, failed while the command was in flight, or could not be established.</summary>
public sealed class RedisConnectionException : RedisException
{
    public RedisConnectionException(string message, Exception? inner = null) : base(message, inner)
    {
    }
}
