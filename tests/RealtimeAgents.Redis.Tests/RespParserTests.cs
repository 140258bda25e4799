using System.Buffers;
using System.Text;
using FsCheck;
using FsCheck.Fluent;
using RealtimeAgents.Redis.Internal;

namespace RealtimeAgents.Redis.Tests;

public class RespParserTests
{
    private static readonly Config s_config = Config.QuickThrowOnFailure.WithMaxTest(400);

    [Fact]
    public void AnyValue_SplitAtAnyBoundaries_ParsesToTheSameValue()
    {
        Gen<(RedisReply Reply, int[] Cuts)> gen =
            from reply in ReplyGenerator.Reply
            from cuts in Gen.ArrayOf(Gen.Choose(0, 1 << 20))
            select (reply, cuts);

        Check.One(s_config, Prop.ForAll(gen.ToArbitrary(), input =>
        {
            byte[] bytes = RespTestSerializer.Serialize(input.Reply);
            List<byte[]> chunks = Split(bytes, input.Cuts);

            // Feed chunk by chunk, as a socket would: incomplete until the very last byte arrives.
            for (int i = 1; i <= chunks.Count; i++)
            {
                ReadOnlySequence<byte> sequence = Segments.Of(chunks.Take(i));
                var reader = new SequenceReader<byte>(sequence);
                bool complete = RespParser.TryParse(ref reader, out RedisReply parsed);
                if (i < chunks.Count)
                {
                    Assert.False(complete, $"Parsed a value from {sequence.Length} of {bytes.Length} bytes.");
                    continue;
                }

                Assert.True(complete, "Not complete after all bytes arrived: " + Escape(bytes));
                Assert.Equal(bytes.Length, reader.Consumed);
                Assert.True(RespTestSerializer.Same(input.Reply, parsed), $"{input.Reply} != {parsed}");
            }
        }));
    }

    [Fact]
    public void BackToBackValues_AreParsedOneAfterAnother()
    {
        Check.One(s_config, Prop.ForAll(Gen.ArrayOf(ReplyGenerator.Reply).ToArbitrary(), replies =>
        {
            byte[] bytes = [.. replies.SelectMany(RespTestSerializer.Serialize)];
            var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(bytes));
            foreach (RedisReply expected in replies)
            {
                Assert.True(RespParser.TryParse(ref reader, out RedisReply parsed));
                Assert.True(RespTestSerializer.Same(expected, parsed));
            }

            Assert.Equal(0, reader.Remaining);
        }));
    }

    [Fact]
    public void CorruptedInput_ThrowsProtocolExceptionOrWaits_NeverAnythingElse()
    {
        Gen<(RedisReply Reply, int Position, byte Value)> gen =
            from reply in ReplyGenerator.Reply
            from position in Gen.Choose(0, 1 << 20)
            from value in Gen.Choose(0, 255)
            select (reply, position, (byte)value);

        Check.One(s_config, Prop.ForAll(gen.ToArbitrary(), input =>
        {
            byte[] bytes = RespTestSerializer.Serialize(input.Reply);
            bytes[input.Position % bytes.Length] = input.Value;
            ParseAll(bytes);
        }));
    }

    [Fact]
    public void RandomBytes_ThrowProtocolExceptionOrWait_NeverAnythingElse()
    {
        Check.One(s_config, Prop.ForAll(Gen.ArrayOf(Gen.Choose(0, 255).Select(b => (byte)b)).ToArbitrary(), ParseAll));
    }

    [Fact]
    public void UnknownTypeByte_IsAProtocolError()
    {
        const string types = "+-:$*_,#(!=%~>|";
        Check.One(s_config, Prop.ForAll(Gen.Choose(0, 255).Where(b => !types.Contains((char)b, StringComparison.Ordinal)).ToArbitrary(), b =>
        {
            byte[] bytes = [(byte)b, (byte)'1', (byte)'\r', (byte)'\n'];
            Assert.Throws<RedisProtocolException>(() => Parse(bytes));
        }));
    }

    [Theory]
    [InlineData("$5\r\nhello\r\r")]
    [InlineData("$5\r\nhelloXY")]
    [InlineData(":12a\r\n")]
    [InlineData(":\r\n")]
    [InlineData(":99999999999999999999\r\n")]
    [InlineData("*-2\r\n")]
    [InlineData("$-5\r\n")]
    [InlineData("$x\r\n")]
    [InlineData("#x\r\n")]
    [InlineData("?\r\n")]
    [InlineData("+OK\n")]
    [InlineData("+O\rK\r\n")]
    [InlineData(",abc\r\n")]
    [InlineData("=3\r\ntxt\r\n")]
    [InlineData("_x\r\n")]
    [InlineData("(12z\r\n")]
    [InlineData("%-1\r\n")]
    [InlineData("*1\r\n:1\r\r")]
    public void MalformedFrames_AreProtocolErrors(string frame)
    {
        Assert.Throws<RedisProtocolException>(() => Parse(Encoding.ASCII.GetBytes(frame)));
    }

    [Fact]
    public void DeeplyNestedArrays_AreRefusedInsteadOfRecursingForever()
    {
        byte[] bytes = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("*1\r\n", 10_000)) + ":1\r\n");
        Assert.Throws<RedisProtocolException>(() => Parse(bytes));
    }

    [Theory]
    [InlineData("$-1\r\n", RedisReplyKind.Null)]
    [InlineData("*-1\r\n", RedisReplyKind.Null)]
    [InlineData("_\r\n", RedisReplyKind.Null)]
    [InlineData(",inf\r\n", RedisReplyKind.Double)]
    [InlineData("|1\r\n+key\r\n+value\r\n:7\r\n", RedisReplyKind.Integer)]
    public void SpecialForms_ParseAsTheSpecSays(string frame, RedisReplyKind kind)
    {
        Assert.Equal(kind, Parse(Encoding.ASCII.GetBytes(frame))!.Kind);
    }

    private static RedisReply? Parse(byte[] bytes)
    {
        var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(bytes));
        return RespParser.TryParse(ref reader, out RedisReply reply) ? reply : null;
    }

    /// <summary>Parses values until the input is exhausted or incomplete. Only RedisProtocolException may escape.</summary>
    private static void ParseAll(byte[] bytes)
    {
        var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(bytes));
        try
        {
            while (reader.Remaining > 0)
            {
                long before = reader.Consumed;
                if (!RespParser.TryParse(ref reader, out _))
                {
                    return;
                }

                Assert.True(reader.Consumed > before);
            }
        }
        catch (RedisProtocolException)
        {
        }
    }

    private static List<byte[]> Split(byte[] bytes, int[] cuts)
    {
        var points = cuts.Select(c => c % (bytes.Length + 1)).Where(c => c > 0 && c < bytes.Length).Distinct().Order().ToList();
        var chunks = new List<byte[]>();
        int start = 0;
        foreach (int point in points)
        {
            chunks.Add(bytes[start..point]);
            start = point;
        }

        chunks.Add(bytes[start..]);
        return chunks;
    }

    private static string Escape(byte[] bytes) => Encoding.ASCII.GetString(bytes).Replace("\r", "\\r", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);

    private sealed class Segments : ReadOnlySequenceSegment<byte>
    {
        private Segments(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public static ReadOnlySequence<byte> Of(IEnumerable<byte[]> chunks)
        {
            Segments? first = null, last = null;
            foreach (byte[] chunk in chunks)
            {
                var segment = new Segments(chunk, last is null ? 0 : last.RunningIndex + last.Memory.Length);
                if (last is null)
                {
                    first = segment;
                }
                else
                {
                    last.Next = segment;
                }

                last = segment;
            }

            return first is null ? ReadOnlySequence<byte>.Empty : new ReadOnlySequence<byte>(first, 0, last!, last!.Memory.Length);
        }
    }
}

/// <summary>FsCheck generators for every RESP2/RESP3 value kind, nested.</summary>
internal static class ReplyGenerator
{
    private static readonly Gen<byte[]> s_anyBytes = Gen.ArrayOf(Gen.Choose(0, 255).Select(b => (byte)b));

    private static readonly Gen<byte[]> s_lineBytes = Gen.ArrayOf(Gen.Choose(32, 126).Select(b => (byte)b));

    private static readonly Gen<long> s_integer = Gen.OneOf(
        Gen.Choose(int.MinValue, int.MaxValue).Select(i => (long)i),
        Gen.Choose(-2, 300).Select(i => (long)i),
        Gen.Elements(long.MinValue, long.MaxValue, long.MinValue + 1));

    private static readonly Gen<double> s_double = Gen.OneOf(
        Gen.Elements(double.PositiveInfinity, double.NegativeInfinity, double.NaN, 0.0, 1e300, -2.5e-300, double.Epsilon),
        from a in Gen.Choose(int.MinValue, int.MaxValue)
        from b in Gen.Choose(1, int.MaxValue)
        select (double)a / b);

    private static readonly Gen<byte[]> s_bigNumber =
        from negative in Gen.Elements(true, false)
        from digits in Gen.NonEmptyListOf(Gen.Choose(0, 9))
        select Encoding.ASCII.GetBytes((negative ? "-" : "") + string.Concat(digits));

    public static Gen<RedisReply> Reply => Gen.Sized(Sized);

    private static Gen<RedisReply> Scalar => Gen.OneOf(
        s_lineBytes.Select(RedisReply.SimpleString),
        s_anyBytes.Select(RedisReply.Error),
        s_integer.Select(RedisReply.Integer),
        s_anyBytes.Select(RedisReply.BulkString),
        Gen.Constant(RedisReply.Null),
        s_double.Select(RedisReply.Double),
        Gen.Elements(true, false).Select(RedisReply.Boolean),
        s_bigNumber.Select(RedisReply.BigNumber),
        from format in Gen.Elements("txt", "mkd")
        from text in s_anyBytes
        select RedisReply.Verbatim(format, text));

    private static Gen<RedisReply> Sized(int size)
    {
        if (size <= 1)
        {
            return Scalar;
        }

        Gen<RedisReply> child = Gen.Sized(s => Sized(s / 3)).Resize(size / 2);
        Gen<RedisReply[]> children = Gen.Choose(0, 5).SelectMany(n => Gen.ArrayOf(child, n));
        return Gen.Frequency(
            (4, Scalar),
            (1, children.Select(c => RedisReply.Aggregate(RedisReplyKind.Array, c))),
            (1, children.Select(c => RedisReply.Aggregate(RedisReplyKind.Set, c))),
            (1, children.Select(c => RedisReply.Aggregate(RedisReplyKind.Push, c))),
            (1, children.Select(c => RedisReply.Aggregate(RedisReplyKind.Map, [.. c, .. c]))));
    }
}
