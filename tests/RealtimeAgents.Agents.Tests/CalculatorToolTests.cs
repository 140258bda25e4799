using RealtimeAgents.Agents.Llm.Tools;
using Xunit;

namespace RealtimeAgents.Agents.Tests;

public sealed class CalculatorToolTests
{
    [Theory]
    [InlineData("1 + 2", 3)]
    [InlineData("(2 + 3) * 4", 20)]
    [InlineData("2 + 3 * 4", 14)]
    [InlineData("10 - 4 - 3", 3)]
    [InlineData("100 / 10 / 5", 2)]
    [InlineData("2 ^ 3 ^ 2", 512)]
    [InlineData("-2 ^ 2", -4)]
    [InlineData("(-2) ^ 2", 4)]
    [InlineData("2 * -3", -6)]
    [InlineData("--3", 3)]
    [InlineData("1.5 * 4", 6)]
    [InlineData(" ( ( 7 ) ) ", 7)]
    [InlineData("2^-1", 0.5)]
    public void ValidExpressions_EvaluateWithTheUsualPrecedence(string expression, double expected) =>
        Assert.Equal(expected, CalculatorTool.Evaluate(expression), 10);

    [Theory]
    [InlineData("", "expected a number at the end")]
    [InlineData("1 +", "expected a number at the end")]
    [InlineData("(1 + 2", "expected ')'")]
    [InlineData("1 + 2)", "unexpected position 6")]
    [InlineData("2 * x", "expected a number at position 5")]
    [InlineData("1 / 0", "Division by zero.")]
    [InlineData("1.2.3", "malformed number")]
    [InlineData("10 ^ 400", "not a finite number")]
    [InlineData("Math.Exit(1)", "expected a number at position 1")]
    public void InvalidExpressions_AreRefusedWithAMessageForTheModel(string expression, string message)
    {
        var ex = Assert.Throws<LlmToolException>(() => CalculatorTool.Evaluate(expression));
        Assert.Contains(message, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void DeepNesting_IsRefused_InsteadOfOverflowingTheStack()
    {
        var ex = Assert.Throws<LlmToolException>(() => CalculatorTool.Evaluate(new string('(', 400) + "1" + new string(')', 400)));
        Assert.Contains("nested too deeply", ex.Message, StringComparison.Ordinal);
        Assert.Throws<LlmToolException>(() => CalculatorTool.Evaluate(new string('-', 500) + "1"));
    }
}
