using System.Text;
using System.Text.Json;
using RealtimeAgents.Contracts;

namespace RealtimeAgents.Core;

/// <summary>
/// Checks what callers send against <see cref="TaskOptions"/> and the known agents. Every method
/// throws a <see cref="RealtimeAgentsException"/> with a readable message, before anything changes.
/// </summary>
internal sealed class TaskRequestValidator(TaskOptions options, IAgentCatalog agents)
{
    private const int MaxReasonLength = 1024;
    private const int MaxToolCallIdLength = 256;
    private const int MaxGroupLength = 128;

    /// <summary>A submit's agent, input, options, idempotency key and shares; returns the options JSON and the shares.</summary>
    public (string? OptionsJson, TaskShares Shares) Submit(SubmitTaskRequest request)
    {
        if (string.IsNullOrEmpty(request.Agent) || !agents.Contains(request.Agent))
        {
            throw RealtimeAgentsException.Invalid(
                $"Unknown agent '{Truncate(request.Agent)}'. Available: {string.Join(", ", agents.Names)}.");
        }
        Text(request.Input, "Input");
        string? optionsJson = Options(request.Options);
        agents.ValidateOptions(request.Agent, request.Options);
        if (request.IdempotencyKey is { } key &&
            (key.Length == 0 || key.Length > options.MaxIdempotencyKeyLength || key.Any(char.IsControl)))
        {
            throw RealtimeAgentsException.Invalid(
                $"The idempotency key must be 1–{options.MaxIdempotencyKeyLength} printable characters.");
        }
        return (optionsJson, Shares(request.Share));
    }

    /// <summary>A task input or message text: not blank, not over <see cref="TaskOptions.MaxInputBytes"/>.</summary>
    public void Text(string? text, string what)
    {
        if (string.IsNullOrWhiteSpace(text)) throw RealtimeAgentsException.Invalid($"{what} is empty.");
        int bytes = Encoding.UTF8.GetByteCount(text);
        if (bytes > options.MaxInputBytes)
        {
            throw new RealtimeAgentsException(ErrorCodes.LimitExceeded,
                $"{what} is {bytes} bytes; the limit is {options.MaxInputBytes} bytes.");
        }
    }

    /// <summary>The message policy, interrupt when none is given.</summary>
    public static string Policy(string? policy)
    {
        policy = string.IsNullOrEmpty(policy) ? MessagePolicies.Interrupt : policy;
        if (!MessagePolicies.IsKnown(policy))
        {
            throw RealtimeAgentsException.Invalid(
                $"Unknown policy '{Truncate(policy)}'. Use interrupt, enqueue, reject or inject.");
        }
        return policy;
    }

    /// <summary>A thread id's shape.</summary>
    public static string ThreadId(string? threadId) =>
        Ids.IsValid(threadId) ? threadId! : throw RealtimeAgentsException.Invalid("The thread id is malformed.");

    /// <summary>An interrupt's or a denial's reason.</summary>
    public static void Reason(string? reason)
    {
        if (reason is { Length: > MaxReasonLength })
        {
            throw RealtimeAgentsException.Invalid($"The reason is longer than {MaxReasonLength} characters.");
        }
    }

    /// <summary>The tool call an approval answers.</summary>
    public static void ToolCallId(string? toolCallId)
    {
        if (string.IsNullOrEmpty(toolCallId) || toolCallId.Length > MaxToolCallIdLength || toolCallId.Any(char.IsControl))
        {
            throw RealtimeAgentsException.Invalid($"The tool call id must be 1–{MaxToolCallIdLength} printable characters.");
        }
    }

    private string? Options(JsonElement? value)
    {
        if (value is not { } o || o.ValueKind is JsonValueKind.Null or JsonValueKind.Undefined) return null;
        if (o.ValueKind != JsonValueKind.Object) throw RealtimeAgentsException.Invalid("Options must be a JSON object.");
        string json = o.GetRawText();
        if (Encoding.UTF8.GetByteCount(json) > options.MaxOptionsBytes)
        {
            throw new RealtimeAgentsException(ErrorCodes.LimitExceeded, $"Options are larger than {options.MaxOptionsBytes} bytes.");
        }
        return json;
    }

    private TaskShares Shares(IReadOnlyList<TaskShare>? shares)
    {
        if (shares is null || shares.Count == 0) return TaskShares.None;
        if (shares.Count > options.MaxSharesPerTask)
        {
            throw RealtimeAgentsException.Invalid($"A task can be shared with at most {options.MaxSharesPerTask} groups.");
        }
        foreach (var share in shares)
        {
            if (share is null || string.IsNullOrEmpty(share.Group) || share.Group.Length > MaxGroupLength || share.Group.Any(char.IsControl))
            {
                throw RealtimeAgentsException.Invalid($"A share's group must be 1–{MaxGroupLength} printable characters.");
            }
            if (share.Access is not (ShareAccess.Read or ShareAccess.Steer))
            {
                throw RealtimeAgentsException.Invalid($"A share's access must be \"read\" or \"steer\", not '{Truncate(share.Access)}'.");
            }
        }
        return new TaskShares(shares);
    }

    /// <summary>Caller text quoted in an error, cut to 40 characters.</summary>
    public static string Truncate(string? s) => s is null ? "" : s.Length <= 40 ? s : s[..40] + "…";
}
