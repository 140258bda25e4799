using System.Text;

namespace RealtimeAgents.Core;

/// <summary>
/// Makes text a caller chose safe to put in a log line: control characters (newlines included)
/// are escaped, so nobody can start a forged line, and the length is capped, so nobody can fill
/// the log through one field.
/// </summary>
public static class LogText
{
    /// <summary>Characters of caller text kept in a log line (200).</summary>
    public const int MaxLength = 200;

    /// <summary>The text escaped and capped; "" for null.</summary>
    public static string Clean(string? text, int maxLength = MaxLength)
    {
        if (string.IsNullOrEmpty(text)) return "";
        bool clean = text.Length <= maxLength;
        foreach (char c in text)
        {
            if (char.IsControl(c) || c is '\u2028' or '\u2029' or '\u202e') { clean = false; break; }
        }
        if (clean) return text;
        var sb = new StringBuilder(Math.Min(text.Length, maxLength) + 16);
        int taken = 0;
        foreach (char c in text)
        {
            if (taken == maxLength)
            {
                sb.Append("…(").Append(text.Length).Append(" chars)");
                break;
            }
            taken++;
            switch (c)
            {
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                default:
                    if (char.IsControl(c) || c is '\u2028' or '\u2029' or '\u202e') sb.Append("\\u").Append(((int)c).ToString("x4", System.Globalization.CultureInfo.InvariantCulture));
                    else sb.Append(c);
                    break;
            }
        }
        return sb.ToString();
    }
}
