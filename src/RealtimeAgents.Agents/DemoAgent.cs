using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using RealtimeAgents.Contracts;
using RealtimeAgents.Core.Runtime;

namespace RealtimeAgents.Agents;

/// <summary>
/// A deterministic travel planner that looks like an agent at work: it thinks aloud, calls two
/// tools with streamed arguments, reads their results, and writes its plan token by token. A
/// message injected mid-answer makes it stop, acknowledge the message and plan again for what the
/// user asked. Same input and options, same events: tests and benchmarks rely on it.
/// </summary>
public sealed partial class DemoAgent : IAgent
{
    private static readonly (string Name, string Label)[] Tools =
    [
        ("search_flights", "Searching flights"),
        ("search_hotels", "Looking for hotels"),
        ("check_restaurants", "Checking restaurant tables"),
        ("get_weather", "Checking the weather"),
    ];

    /// <inheritdoc />
    public async Task<AgentResult> RunAsync(AgentContext context, CancellationToken cancellationToken)
    {
        var options = DemoAgentOptions.Parse(context.Options);
        string destination = Destination(context.Input) ?? "Lisbon";
        var answer = new StringBuilder();

        await context.StatusAsync(StatusPhases.Thinking, "Planning the trip").ConfigureAwait(false);
        if (options.Reasoning)
        {
            var reasoning = await context.StartReasoningAsync().ConfigureAwait(false);
            // Each word after the first carries its leading space, like the answer's tokens, so the deltas join into prose.
            foreach (string piece in Words($"The user wants a trip to {destination}. I should find flights and a hotel first, then write a day-by-day plan.")
                .Select((w, i) => i == 0 ? w : " " + w))
            {
                await PauseAsync(options.TokenIntervalMs, cancellationToken).ConfigureAwait(false);
                await reasoning.WriteAsync(piece).ConfigureAwait(false);
            }
            await reasoning.EndAsync().ConfigureAwait(false);
        }

        for (int i = 0; i < options.ToolCalls; i++)
        {
            var (name, label) = Tools[i % Tools.Length];
            await context.StatusAsync(StatusPhases.Acting, label).ConfigureAwait(false);
            // With approvals the call id is the same in every attempt, so a retry finds the answer given to the one before.
            var call = await context.StartToolCallAsync(name, options.RequireApproval ? $"call_{context.TaskId}_{i + 1}" : null).ConfigureAwait(false);
            string args = JsonSerializer.Serialize(new Dictionary<string, string> { ["destination"] = destination, ["when"] = "next month" });
            int half = args.Length / 2;
            await call.ArgsAsync(args[..half]).ConfigureAwait(false);
            await call.ArgsAsync(args[half..]).ConfigureAwait(false);
            var input = JsonDocument.Parse(args).RootElement.Clone();
            await call.EndAsync(input).ConfigureAwait(false);
            if (options.RequireApproval)
            {
                var decision = await context.RequestApprovalAsync(call.ToolCallId, name, input,
                    options.ApprovalTimeoutMs is { } t ? TimeSpan.FromMilliseconds(t) : null, cancellationToken).ConfigureAwait(false);
                if (!decision.Approved)
                {
                    // Denied: the tool does not run, and the plan goes on without what it would have found.
                    await call.ResultAsync(Json(new { denied = true, reason = decision.Reason }), isError: true).ConfigureAwait(false);
                    continue;
                }
                await context.StatusAsync(StatusPhases.Acting, label).ConfigureAwait(false);
            }
            await PauseAsync(options.ToolDelayMs, cancellationToken).ConfigureAwait(false);
            await context.StatusAsync(StatusPhases.Observing, "Reading the results").ConfigureAwait(false);
            await call.ResultAsync(ToolOutput(name, destination, i)).ConfigureAwait(false);
        }

        await PauseAsync(options.FirstTokenDelayMs, cancellationToken).ConfigureAwait(false);
        var text = await context.StartTextAsync().ConfigureAwait(false);
        var tokens = PlanTokens(destination).GetEnumerator();
        try
        {
            for (int n = 0; n < options.Tokens; n++)
            {
                if (n > 0) await PauseAsync(options.TokenIntervalMs, cancellationToken).ConfigureAwait(false);
                if (context.Messages.TryRead(out var message))
                {
                    // Change course: close the answer so far, acknowledge, and plan for the new request.
                    await text.EndAsync().ConfigureAwait(false);
                    await context.StatusAsync(StatusPhases.Thinking, "Reading your message").ConfigureAwait(false);
                    destination = Destination(message.Text) ?? destination;
                    var ack = await context.StartTextAsync().ConfigureAwait(false);
                    string ackText = $"Got it: \"{Clip(message.Text)}\". Changing course to {destination}.";
                    await ack.WriteAsync(ackText).ConfigureAwait(false);
                    await ack.EndAsync().ConfigureAwait(false);
                    answer.Append("\n\n").Append(ackText).Append("\n\n");
                    text = await context.StartTextAsync().ConfigureAwait(false);
                    tokens.Dispose();
                    tokens = PlanTokens(destination).GetEnumerator();
                }
                if (options.FailAfter == n) throw new InvalidOperationException($"The demo agent failed on purpose after {n} tokens.");
                tokens.MoveNext();
                await text.WriteAsync(tokens.Current).ConfigureAwait(false);
                answer.Append(tokens.Current);
            }
        }
        finally
        {
            tokens.Dispose();
        }
        if (options.FailAfter == options.Tokens) throw new InvalidOperationException($"The demo agent failed on purpose after {options.Tokens} tokens.");
        await text.EndAsync().ConfigureAwait(false);
        return new AgentResult(answer.ToString().Trim(), new UsageData(Words(context.Input).Count(), options.Tokens));
    }

    private static async ValueTask PauseAsync(int ms, CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        if (ms > 0) await Task.Delay(ms, ct).ConfigureAwait(false);
    }

    /// <summary>An endless, deterministic plan, one word (with its leading space) per token.</summary>
    internal static IEnumerable<string> PlanTokens(string destination)
    {
        bool first = true;
        foreach (string w in Words($"Here is a plan for {destination}."))
        {
            yield return first ? w : " " + w;
            first = false;
        }
        string[] days =
        [
            "arrive, check in near the old town, and walk to a relaxed dinner by the water.",
            "start early at the main market, then a museum before lunch and a long walk in the afternoon.",
            "take a day trip along the coast and come back for a late seafood supper.",
            "browse the small shops, sit in a garden café, and catch the sunset from the highest viewpoint.",
        ];
        for (int day = 1; ; day++)
        {
            foreach (string w in Words(string.Create(CultureInfo.InvariantCulture, $"Day {day}: {days[(day - 1) % days.Length]}")))
            {
                yield return " " + w;
            }
        }
    }

    private static JsonElement ToolOutput(string tool, string destination, int i) => tool switch
    {
        "search_flights" => Json(new { flights = new[] { new { carrier = "Skyline", price = 212 + i, stops = 0 }, new { carrier = "Northwind", price = 189 + i, stops = 1 } }, destination }),
        "search_hotels" => Json(new { hotels = new[] { new { name = $"Casa {destination}", pricePerNight = 145, rating = 4.6 }, new { name = "Harbour Inn", pricePerNight = 119, rating = 4.3 } } }),
        "check_restaurants" => Json(new { available = new[] { "19:30", "21:00" }, restaurant = "Sushi Kaito" }),
        _ => Json(new { forecast = "sunny", highC = 24, lowC = 16 }),
    };

    private static JsonElement Json<T>(T value) => JsonSerializer.SerializeToElement(value);

    internal static string? Destination(string? text)
    {
        if (string.IsNullOrWhiteSpace(text)) return null;
        var m = DestinationPattern().Match(text);
        return m.Success ? m.Groups[1].Value : null;
    }

    private static IEnumerable<string> Words(string s) => s.Split(' ', StringSplitOptions.RemoveEmptyEntries);

    private static string Clip(string s) => s.Length <= 80 ? s : s[..80] + "…";

    [GeneratedRegex(@"\b(?:to|in|for|visit|about)\s+([A-Z][\p{L}\-]+(?:\s[A-Z][\p{L}\-]+)?)", RegexOptions.CultureInvariant)]
    private static partial Regex DestinationPattern();
}
