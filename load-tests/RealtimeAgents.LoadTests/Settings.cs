using System.Text.Json;

namespace RealtimeAgents.LoadTests;

/// <summary>How users arrive.</summary>
public enum LoadModel
{
    /// <summary>A fixed number of users, each running tasks back to back.</summary>
    Closed,
    /// <summary>Tasks start at a fixed rate whatever the server's pace; latencies count from the scheduled start.</summary>
    Open,
}

/// <summary>Everything a run was asked to do, after the scenario's defaults were applied.</summary>
public sealed record Settings
{
    public required string Scenario { get; init; }
    public required IReadOnlyList<Uri> Urls { get; init; }
    public string Mode { get; init; } = "external";
    public LoadModel Model { get; init; } = LoadModel.Closed;
    /// <summary>Virtual users: one HubConnection each (in the open model, the connection pool).</summary>
    public int Users { get; init; } = 10;
    public TimeSpan Ramp { get; init; }
    public TimeSpan Warmup { get; init; } = TimeSpan.FromSeconds(5);
    /// <summary>Measured time; with <see cref="Iterations"/> set, an upper bound.</summary>
    public TimeSpan Duration { get; init; } = TimeSpan.FromSeconds(30);
    /// <summary>Measured tasks per user (closed model); 0 = until the duration ends.</summary>
    public int Iterations { get; init; }
    /// <summary>Task starts per second (open model).</summary>
    public double Rate { get; init; } = 10;
    public bool PoissonArrivals { get; init; }
    public int MaxInFlight { get; init; } = 10_000;
    public TimeSpan TaskTimeout { get; init; } = TimeSpan.FromSeconds(120);
    /// <summary>How long tasks still running at the end may take to finish.</summary>
    public TimeSpan DrainTimeout { get; init; } = TimeSpan.FromSeconds(60);
    public int Seed { get; init; } = 1;

    // The demo agent's options.
    public int Tokens { get; init; } = 100;
    public int TokenIntervalMs { get; init; } = 50;
    public int FirstTokenDelayMs { get; init; } = 300;
    public int ToolCalls { get; init; } = 2;
    public int ToolDelayMs { get; init; } = 250;
    public bool Reasoning { get; init; } = true;

    // Scenario knobs.
    public int Viewers { get; init; } = 1000;
    public TimeSpan DropAfter { get; init; } = TimeSpan.FromSeconds(1);
    public double DropFraction { get; init; } = 1;
    public int Backlog { get; init; } = 10_000;
    public int Replays { get; init; } = 5;
    public TimeSpan InterruptAfter { get; init; } = TimeSpan.FromMilliseconds(500);
    public IReadOnlyList<int> ServerPids { get; init; } = [];
    public TimeSpan SampleInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Virtual users speak the MessagePack hub protocol instead of JSON.</summary>
    public bool MessagePack { get; init; }

    public string? OutputDirectory { get; init; }
    public bool Progress { get; init; } = true;

    /// <summary>The demo agent's options object for SubmitTask.</summary>
    public JsonElement AgentOptions(int? tokens = null, int? tokenIntervalMs = null) => JsonSerializer.SerializeToElement(
        new Dictionary<string, object>
        {
            ["tokens"] = tokens ?? Tokens,
            ["tokenIntervalMs"] = tokenIntervalMs ?? TokenIntervalMs,
            ["firstTokenDelayMs"] = FirstTokenDelayMs,
            ["toolCalls"] = ToolCalls,
            ["toolDelayMs"] = ToolDelayMs,
            ["reasoning"] = Reasoning,
        });
}
