using System.Diagnostics;
using Xunit;

namespace RealtimeAgents.Testing;

/// <summary>Polls a condition until it holds or a deadline passes; each check has a timeout of its own.</summary>
public static class Eventually
{
    public static async Task TrueAsync(Func<Task<bool>> condition, int timeoutMs = 10_000, string? because = null)
    {
        ArgumentNullException.ThrowIfNull(condition);
        var watch = Stopwatch.StartNew();
        while (!await condition().DefaultTimeout())
        {
            if (watch.ElapsedMilliseconds > timeoutMs)
            {
                Assert.Fail($"Condition not met within {timeoutMs} ms. {because}");
            }

            await Task.Delay(20);
        }
    }
}
