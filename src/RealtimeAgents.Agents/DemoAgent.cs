using System.Diagnostics;
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
        var plan = new Plan(Destination(context.Input) ?? "Lisbon", Days(context.Input), options.Markdown, options.Answer);
        var answer = new StringBuilder();

        await context.StatusAsync(StatusPhases.Thinking, "Planning the trip").ConfigureAwait(false);
        if (options.Reasoning)
        {
            var reasoning = await context.StartReasoningAsync().ConfigureAwait(false);
            // Each word after the first carries its leading space, like the answer's tokens, so the deltas join into prose.
            foreach (string piece in Pieces($"The user wants {plan.DaysPhrase("a trip")} to {plan.Destination}. I should find flights and a hotel first, then write a day-by-day plan."))
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
            string args = JsonSerializer.Serialize(new Dictionary<string, string> { ["destination"] = plan.Destination, ["when"] = "next month" });
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
            await call.ResultAsync(ToolOutput(name, plan.Destination, i)).ConfigureAwait(false);
        }

        await PauseAsync(options.FirstTokenDelayMs, cancellationToken).ConfigureAwait(false);
        var text = await context.StartTextAsync().ConfigureAwait(false);
        var tokens = plan.Tokens().GetEnumerator();
        int written = 0;
        // Tokens follow a fixed schedule from the first one, as a model streaming at a steady rate
        // does: time spent writing one does not push the next ones later.
        long firstToken = Stopwatch.GetTimestamp();
        try
        {
            for (int n = 0; n < options.Tokens; n++)
            {
                if (n > 0) await PauseUntilAsync(firstToken, (double)n * options.TokenIntervalMs, cancellationToken).ConfigureAwait(false);
                if (context.Messages.TryRead(out var message))
                {
                    // Change course: close the answer so far, acknowledge, and plan for the new request.
                    await text.EndAsync().ConfigureAwait(false);
                    await context.StatusAsync(StatusPhases.Thinking, "Reading your message").ConfigureAwait(false);
                    plan = plan with { Destination = Destination(message.Text) ?? plan.Destination, DayCount = Days(message.Text) ?? plan.DayCount };
                    var ack = await context.StartTextAsync().ConfigureAwait(false);
                    string ackText = $"Got it: \"{Clip(message.Text)}\". Changing course to {plan.Destination}.";
                    await ack.WriteAsync(ackText).ConfigureAwait(false);
                    await ack.EndAsync().ConfigureAwait(false);
                    answer.Append("\n\n").Append(ackText).Append("\n\n");
                    text = await context.StartTextAsync().ConfigureAwait(false);
                    tokens.Dispose();
                    tokens = plan.Tokens().GetEnumerator();
                }
                if (options.FailAfter == n) throw new InvalidOperationException($"The demo agent failed on purpose after {n} tokens.");
                if (!tokens.MoveNext()) break; // a finite answer (markdown, a given answer) said everything
                string token = tokens.Current;
                // The last token of the budget carries the rest of its sentence: answers end on a full stop.
                if (n == options.Tokens - 1)
                {
                    var rest = new StringBuilder(token);
                    while (!plan.EndsSentence(rest) && tokens.MoveNext()) rest.Append(tokens.Current);
                    token = rest.ToString();
                }
                await text.WriteAsync(token).ConfigureAwait(false);
                answer.Append(token);
                written++;
            }
        }
        finally
        {
            tokens.Dispose();
        }
        if (options.FailAfter == options.Tokens) throw new InvalidOperationException($"The demo agent failed on purpose after {options.Tokens} tokens.");
        await text.EndAsync().ConfigureAwait(false);
        return new AgentResult(answer.ToString().Trim(), new UsageData(Words(context.Input).Count(), written));
    }

    private static async ValueTask PauseUntilAsync(long since, double dueMs, CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        double wait = dueMs - Stopwatch.GetElapsedTime(since).TotalMilliseconds;
        if (wait >= 1) await Task.Delay(TimeSpan.FromMilliseconds(wait), ct).ConfigureAwait(false);
    }

    private static async ValueTask PauseAsync(int ms, CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        if (ms > 0) await Task.Delay(ms, ct).ConfigureAwait(false);
    }

    /// <summary>What the agent is asked: where, for how many days, and in which form.</summary>
    internal sealed record Plan(string Destination, int? DayCount, bool Markdown, string? Given = null)
    {
        private static readonly string[] DayPlans =
        [
            "arrive, check in near the old town, and walk to a relaxed dinner by the water.",
            "start early at the main market, then a museum before lunch and a long walk in the afternoon.",
            "take a day trip along the coast and come back for a late seafood supper.",
            "browse the small shops, sit in a garden café, and catch the sunset from the highest viewpoint.",
        ];

        private static readonly string[] Tips =
        [
            "Tip: buy a transit pass on the first day.",
            "Tip: book the most popular restaurant a week ahead.",
            "Tip: keep one afternoon free for whatever you discover.",
            "Tip: carry a light jacket for the evenings.",
        ];

        private int Days => DayCount ?? 3;

        /// <summary>"a 4-day trip" when the user named a number of days, else <paramref name="noun"/>.</summary>
        public string DaysPhrase(string noun) =>
            DayCount is int d ? string.Create(CultureInfo.InvariantCulture, $"a {d}-day {noun.Split(' ')[^1]}") : noun;

        public bool EndsSentence(StringBuilder sb) =>
            Given is null && !Markdown && sb.Length > 0 && sb[^1] is '.' or '!' or '?';

        /// <summary>
        /// The answer, one word (with the whitespace before it) per token. Prose goes on with tips
        /// for as long as the token budget asks; Markdown and a given answer end.
        /// </summary>
        public IEnumerable<string> Tokens()
        {
            if (Given is not null) return Pieces(Given);
            if (Markdown) return Pieces(MarkdownPlan());
            return Pieces(Prose()).Concat(EndlessTips());
        }

        private string Prose()
        {
            var sb = new StringBuilder(string.Create(CultureInfo.InvariantCulture, $"Here is {DaysPhrase("a plan")} for {Destination}."));
            for (int day = 1; day <= Days; day++)
            {
                sb.Append(CultureInfo.InvariantCulture, $" Day {day}: {DayPlans[(day - 1) % DayPlans.Length]}");
            }
            return sb.Append(CultureInfo.InvariantCulture, $" Enjoy {Destination}!").ToString();
        }

        private static IEnumerable<string> EndlessTips()
        {
            for (int i = 0; ; i++)
            {
                foreach (string piece in Pieces(Tips[i % Tips.Length])) yield return " " + piece.TrimStart();
            }
        }

        private string MarkdownPlan()
        {
            var sb = new StringBuilder();
            sb.Append(CultureInfo.InvariantCulture, $"## {(DayCount is int d ? $"{d} days" : "A trip")} in {Destination}\n\n");
            sb.Append("Here is the plan, **day by day**:\n\n");
            for (int day = 1; day <= Days; day++)
            {
                sb.Append(CultureInfo.InvariantCulture, $"- **Day {day}**: {DayPlans[(day - 1) % DayPlans.Length]}\n");
            }
            sb.Append("\n| Day | Morning | Evening |\n|---|---|---|\n");
            for (int day = 1; day <= Days; day++)
            {
                sb.Append(CultureInfo.InvariantCulture, $"| {day} | {(day % 2 == 1 ? "Market" : "Museum")} | {(day % 2 == 1 ? "Seafood" : "Sunset")} |\n");
            }
            sb.Append("\nThe itinerary as data:\n\n```json\n");
            sb.Append(CultureInfo.InvariantCulture, $"{{ \"destination\": \"{Destination}\", \"days\": {Days} }}\n```\n\n");
            sb.Append(CultureInfo.InvariantCulture, $"Enjoy `{Destination}`, and see [the city guide](https://example.com/guide/{Uri.EscapeDataString(Destination)}).");
            return sb.ToString();
        }
    }

    /// <summary>A text as tokens: each word with the whitespace before it, so the tokens join back into the text.</summary>
    internal static IEnumerable<string> Pieces(string text) => PiecePattern().Matches(text).Select(m => m.Value);

    private static JsonElement ToolOutput(string tool, string destination, int i) => tool switch
    {
        "search_flights" => Json(new { flights = new[] { new { carrier = "Skyline", price = 212 + i, stops = 0 }, new { carrier = "Northwind", price = 189 + i, stops = 1 } }, destination }),
        "search_hotels" => Json(new { hotels = new[] { new { name = $"Casa {destination}", pricePerNight = 145, rating = 4.6 }, new { name = "Harbour Inn", pricePerNight = 119, rating = 4.3 } } }),
        "check_restaurants" => Json(new { available = new[] { "19:30", "21:00" }, restaurant = "Sushi Kaito" }),
        _ => Json(new { forecast = "sunny", highC = 24, lowC = 16 }),
    };

    private static JsonElement Json<T>(T value) => JsonSerializer.SerializeToElement(value);

    /// <summary>
    /// Where the user wants to go: "make it X", "X instead", then "to / in / for / visit / about X"
    /// (X a capitalised place name of one or two words).
    /// </summary>
    internal static string? Destination(string? text)
    {
        if (string.IsNullOrWhiteSpace(text)) return null;
        foreach (var pattern in (ReadOnlySpan<Regex>)[MakeItPattern(), InsteadPattern(), DestinationPattern()])
        {
            var m = pattern.Match(text);
            if (m.Success) return m.Groups["place"].Value;
        }
        return null;
    }

    /// <summary>"4-day", "4 days", "four days" (1 to 14); null when the text names none.</summary>
    internal static int? Days(string? text)
    {
        if (string.IsNullOrWhiteSpace(text)) return null;
        var m = DaysPattern().Match(text);
        if (!m.Success) return null;
        string n = m.Groups["n"].Value.ToLowerInvariant();
        int days = int.TryParse(n, NumberStyles.None, CultureInfo.InvariantCulture, out int i) ? i : Array.IndexOf(NumberWords, n) + 1;
        return days is >= 1 and <= 14 ? days : null;
    }

    private static readonly string[] NumberWords =
        ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve", "thirteen", "fourteen"];

    private static IEnumerable<string> Words(string s) => s.Split(' ', StringSplitOptions.RemoveEmptyEntries);

    private static string Clip(string s) => s.Length <= 80 ? s : s[..80] + "…";

    private const string Place = @"(?<place>[A-Z][\p{L}\-]+(?:\s[A-Z][\p{L}\-]+)?)";

    [GeneratedRegex(@"\b(?:to|in|for|visit|about)\s+" + Place, RegexOptions.CultureInvariant)]
    private static partial Regex DestinationPattern();

    [GeneratedRegex(@"\b(?i:make\s+it|go\s+with|switch\s+to|how\s+about|what\s+about)\s+" + Place, RegexOptions.CultureInvariant)]
    private static partial Regex MakeItPattern();

    [GeneratedRegex(Place + @"\s+(?i:instead)\b", RegexOptions.CultureInvariant)]
    private static partial Regex InsteadPattern();

    [GeneratedRegex(@"\b(?<n>\d{1,2}|(?i:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen))(?:-|\s)(?i:days?|nights?)\b", RegexOptions.CultureInvariant)]
    private static partial Regex DaysPattern();

    [GeneratedRegex(@"\s*\S+", RegexOptions.CultureInvariant)]
    private static partial Regex PiecePattern();
}
