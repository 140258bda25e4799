using System.Globalization;
using System.Text.Json;
using RealtimeAgents.Core.Runtime;

namespace RealtimeAgents.Agents.Llm.Tools;

/// <summary>
/// Evaluates arithmetic: numbers, + - * / ^ (power, right-associative) and parentheses, with the
/// usual precedence. A small recursive-descent parser: nothing is compiled or executed.
/// </summary>
public sealed class CalculatorTool : ILlmTool
{
    private const int MaxLength = 1000;
    private const int MaxDepth = 100;

    /// <inheritdoc />
    public string Name => "calculator";

    /// <inheritdoc />
    public string Description => "Evaluates an arithmetic expression with numbers, + - * / ^ and parentheses, e.g. (2 + 3) * 4 ^ 2.";

    /// <inheritdoc />
    public JsonElement ParametersSchema { get; } = ToolArgs.Schema("""
        {"type":"object","properties":{"expression":{"type":"string","description":"The expression, e.g. 12.5 * (3 + 4)"}},"required":["expression"]}
        """);

    /// <inheritdoc />
    public ValueTask<JsonElement> InvokeAsync(JsonElement arguments, AgentContext context, CancellationToken cancellationToken)
    {
        string expression = ToolArgs.RequiredString(arguments, "expression");
        double result = Evaluate(expression);
        return ValueTask.FromResult(JsonSerializer.SerializeToElement(new Dictionary<string, object>
        {
            ["expression"] = expression,
            ["result"] = result,
        }));
    }

    /// <summary>The value of <paramref name="expression"/>; <see cref="LlmToolException"/> when it is not valid or not finite.</summary>
    public static double Evaluate(string expression)
    {
        ArgumentNullException.ThrowIfNull(expression);
        if (expression.Length > MaxLength) throw new LlmToolException($"The expression is longer than {MaxLength} characters.");
        var parser = new Parser(expression);
        double value = parser.Expression(0);
        parser.SkipSpace();
        if (!parser.AtEnd) throw parser.Error("unexpected");
        if (!double.IsFinite(value)) throw new LlmToolException("The result is not a finite number.");
        return value;
    }

    private ref struct Parser(string text)
    {
        private readonly string _text = text;
        private int _pos;

        public readonly bool AtEnd => _pos >= _text.Length;

        // expression := term (('+' | '-') term)*
        public double Expression(int depth)
        {
            if (depth > MaxDepth) throw new LlmToolException("The expression is nested too deeply.");
            double value = Term(depth);
            while (true)
            {
                SkipSpace();
                if (Take('+')) value += Term(depth);
                else if (Take('-')) value -= Term(depth);
                else return value;
            }
        }

        // term := unary (('*' | '/') unary)*
        private double Term(int depth)
        {
            double value = Unary(depth);
            while (true)
            {
                SkipSpace();
                if (Take('*')) value *= Unary(depth);
                else if (Take('/'))
                {
                    double divisor = Unary(depth);
                    if (divisor == 0) throw new LlmToolException("Division by zero.");
                    value /= divisor;
                }
                else return value;
            }
        }

        // unary := ('-' | '+') unary | power   (so -2^2 is -(2^2), as in mathematics)
        private double Unary(int depth)
        {
            if (depth > MaxDepth) throw new LlmToolException("The expression is nested too deeply.");
            SkipSpace();
            if (Take('-')) return -Unary(depth + 1);
            if (Take('+')) return Unary(depth + 1);
            return Power(depth);
        }

        // power := primary ('^' unary)?   (right-associative: 2^3^2 is 2^(3^2))
        private double Power(int depth)
        {
            double value = Primary(depth);
            SkipSpace();
            if (Take('^')) value = Math.Pow(value, Unary(depth + 1));
            return value;
        }

        // primary := number | '(' expression ')'
        private double Primary(int depth)
        {
            SkipSpace();
            if (Take('('))
            {
                double value = Expression(depth + 1);
                SkipSpace();
                if (!Take(')')) throw Error("expected ')' at");
                return value;
            }
            int start = _pos;
            while (!AtEnd && (char.IsAsciiDigit(_text[_pos]) || _text[_pos] == '.')) _pos++;
            if (start == _pos) throw Error(AtEnd ? "expected a number at the end" : "expected a number at");
            if (!double.TryParse(_text.AsSpan(start, _pos - start), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out double n))
            {
                _pos = start;
                throw Error("malformed number at");
            }
            return n;
        }

        public void SkipSpace()
        {
            while (!AtEnd && char.IsWhiteSpace(_text[_pos])) _pos++;
        }

        private bool Take(char c)
        {
            if (AtEnd || _text[_pos] != c) return false;
            _pos++;
            return true;
        }

        public readonly LlmToolException Error(string what) => AtEnd && what.EndsWith("end", StringComparison.Ordinal)
            ? new LlmToolException($"Invalid expression: {what}.")
            : new LlmToolException($"Invalid expression: {what} position {_pos + 1} ('{(AtEnd ? "end" : _text[_pos].ToString())}').");
    }
}
