namespace RealtimeAgents.Redis.Tests;

public class OptionsTests
{
    [Fact]
    public void ConnectionString_WithEveryOption_IsParsed()
    {
        RedisOptions o = RedisOptions.Parse("cache.local:6380, password=p@ss=1,user=app,database=3,name=hub-1,connectTimeout=1500,commandTimeout=250,abortConnect=false,protocol=resp2");
        Assert.Equal(("cache.local", 6380), (o.Host, o.Port));
        Assert.Equal(("app", "p@ss=1"), (o.User, o.Password));
        Assert.Equal(3, o.Database);
        Assert.Equal("hub-1", o.ClientName);
        Assert.Equal(TimeSpan.FromMilliseconds(1500), o.ConnectTimeout);
        Assert.Equal(TimeSpan.FromMilliseconds(250), o.CommandTimeout);
        Assert.False(o.AbortOnConnectFail);
        Assert.Equal(RedisProtocol.Resp2, o.Protocol);
        Assert.Null(o.UnixSocketPath);
    }

    [Fact]
    public void HostWithoutPort_DefaultsTo6379_AndDefaultsAreSafe()
    {
        RedisOptions o = RedisOptions.Parse("localhost");
        Assert.Equal(("localhost", 6379), (o.Host, o.Port));
        Assert.Equal(TimeSpan.FromSeconds(5), o.CommandTimeout);
        Assert.Equal(RedisDisconnectedBehavior.Wait, o.WhenDisconnected);
        Assert.Equal(RedisProtocol.Resp3, o.Protocol);
        Assert.True(o.AbortOnConnectFail);
    }

    [Theory]
    [InlineData("redis://localhost", "localhost", 6379, null, null, 0)]
    [InlineData("redis://:secret@10.0.0.5:7000/2", "10.0.0.5", 7000, null, "secret", 2)]
    [InlineData("redis://bob:s%40cret@redis:6379/0", "redis", 6379, "bob", "s@cret", 0)]
    public void Urls_AreParsed(string url, string host, int port, string? user, string? password, int db)
    {
        RedisOptions o = RedisOptions.Parse(url);
        Assert.Equal((host, port, user, password, db), (o.Host, o.Port, o.User, o.Password, o.Database));
    }

    [Theory]
    [InlineData("/var/run/redis.sock", "/var/run/redis.sock")]
    [InlineData("unix:///tmp/r.sock", "/tmp/r.sock")]
    [InlineData("/tmp/r.sock,password=x", "/tmp/r.sock")]
    public void UnixSockets_AreRecognised(string text, string path)
    {
        Assert.Equal(path, RedisOptions.Parse(text).UnixSocketPath);
    }

    [Theory]
    [InlineData("localhost,bogus=1")]
    [InlineData("localhost,database=x")]
    [InlineData("localhost,novalue")]
    public void BadOptions_AreRejectedLoudly(string text)
    {
        Assert.Throws<FormatException>(() => RedisOptions.Parse(text));
    }

    [Fact]
    public void Backoff_GrowsExponentiallyWithJitter_AndIsCapped()
    {
        var o = new RedisOptions { ReconnectMinDelay = TimeSpan.FromMilliseconds(100), ReconnectMaxDelay = TimeSpan.FromSeconds(2) };
        for (int i = 0; i < 100; i++)
        {
            Assert.InRange(Internal.Backoff.Delay(o, 0).TotalMilliseconds, 50, 100);
            Assert.InRange(Internal.Backoff.Delay(o, 3).TotalMilliseconds, 400, 800);
            Assert.InRange(Internal.Backoff.Delay(o, 50).TotalMilliseconds, 1000, 2000);
        }
    }

    [Fact]
    public void Script_Sha1_MatchesWhatRedisComputes()
    {
        // sha1("return 1"), as printed by `redis-cli SCRIPT LOAD "return 1"`.
        Assert.Equal("e0e1f9fabfc9d4800c877a703b823ac0578ff8db", new RedisScript("return 1").Sha1);
    }

    [Fact]
    public void Args_FormatLikeRedisExpects()
    {
        Assert.Equal("42", ((RedisArg)42).ToString());
        Assert.Equal("-9223372036854775808", ((RedisArg)long.MinValue).ToString());
        Assert.Equal("1.5", ((RedisArg)1.5).ToString());
        Assert.Equal("+inf", ((RedisArg)double.PositiveInfinity).ToString());
        Assert.Equal("é", ((RedisArg)"é").ToString());
        Assert.Throws<ArgumentException>(() => (RedisArg)double.NaN);
    }
}
