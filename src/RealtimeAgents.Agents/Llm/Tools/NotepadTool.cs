using System.Collections.Concurrent;
using System.Text.Json;
using RealtimeAgents.Core.Runtime;

namespace RealtimeAgents.Agents.Llm.Tools;

/// <summary>
/// Notes by thread, in process memory: what the model writes with the notepad tool in one task
/// of a conversation it can read back in a later one. Bounded per thread; gone on restart.
/// </summary>
public sealed class NotepadStore
{
    /// <summary>Notes kept per thread.</summary>
    public const int MaxNotes = 100;
    /// <summary>Longest key.</summary>
    public const int MaxKeyLength = 100;
    /// <summary>Longest value.</summary>
    public const int MaxValueLength = 4000;

    private readonly ConcurrentDictionary<string, ConcurrentDictionary<string, string>> _threads = new(StringComparer.Ordinal);

    /// <summary>Stores a note; false when the thread is full and the key is new.</summary>
    public bool Set(string threadId, string key, string value)
    {
        var notes = _threads.GetOrAdd(threadId, _ => new ConcurrentDictionary<string, string>(StringComparer.Ordinal));
        lock (notes)
        {
            if (!notes.ContainsKey(key) && notes.Count >= MaxNotes) return false;
            notes[key] = value;
            return true;
        }
    }

    /// <summary>The note, or null.</summary>
    public string? Get(string threadId, string key) =>
        _threads.TryGetValue(threadId, out var notes) && notes.TryGetValue(key, out var v) ? v : null;

    /// <summary>Every note of the thread, by key.</summary>
    public IReadOnlyDictionary<string, string> List(string threadId) =>
        _threads.TryGetValue(threadId, out var notes)
            ? new SortedDictionary<string, string>(notes, StringComparer.Ordinal)
            : new SortedDictionary<string, string>(StringComparer.Ordinal);
}

/// <summary>The model's notepad for the conversation: set, get and list notes by key.</summary>
public sealed class NotepadTool(NotepadStore store) : ILlmTool
{
    /// <inheritdoc />
    public string Name => "notepad";

    /// <inheritdoc />
    public string Description =>
        "A notepad kept for this conversation. action 'set' stores value under key, 'get' reads key, 'list' returns every note.";

    /// <inheritdoc />
    public JsonElement ParametersSchema { get; } = ToolArgs.Schema("""
        {"type":"object","properties":{"action":{"type":"string","enum":["set","get","list"]},"key":{"type":"string"},"value":{"type":"string"}},"required":["action"]}
        """);

    /// <inheritdoc />
    public ValueTask<JsonElement> InvokeAsync(JsonElement arguments, AgentContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        string action = ToolArgs.RequiredString(arguments, "action");
        object result;
        switch (action)
        {
            case "set":
            {
                string key = Key(arguments);
                string value = ToolArgs.OptionalString(arguments, "value") ?? throw new LlmToolException("'value' is required for set.");
                if (value.Length > NotepadStore.MaxValueLength) throw new LlmToolException($"The value is longer than {NotepadStore.MaxValueLength} characters.");
                if (!store.Set(context.ThreadId, key, value)) throw new LlmToolException($"The notepad is full ({NotepadStore.MaxNotes} notes).");
                result = new Dictionary<string, object> { ["saved"] = key };
                break;
            }
            case "get":
            {
                string key = Key(arguments);
                result = new Dictionary<string, object?> { ["key"] = key, ["value"] = store.Get(context.ThreadId, key), };
                break;
            }
            case "list":
                result = new Dictionary<string, object> { ["notes"] = store.List(context.ThreadId) };
                break;
            default:
                throw new LlmToolException($"Unknown action '{action}'. Use set, get or list.");
        }
        return ValueTask.FromResult(JsonSerializer.SerializeToElement(result));
    }

    private static string Key(JsonElement arguments)
    {
        string key = ToolArgs.RequiredString(arguments, "key");
        return key.Length <= NotepadStore.MaxKeyLength ? key : throw new LlmToolException($"The key is longer than {NotepadStore.MaxKeyLength} characters.");
    }
}
