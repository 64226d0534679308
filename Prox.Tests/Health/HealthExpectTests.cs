using Prox.Actors.Health;
using Xunit;

namespace Prox.Tests.Health;

public sealed class HealthExpectTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static ProbeResult Result(int status, string? error = null) =>
        new(T0, status, TimeSpan.FromMilliseconds(5), error);

    private static HealthConfig Expecting(string? body, params StatusRange[] statuses) =>
        HealthConfig.Default with { Expect = new HealthExpectation([.. statuses], body) };

    [Theory]
    [InlineData(200, true)]
    [InlineData(204, true)]
    [InlineData(299, true)]
    [InlineData(301, false)]
    [InlineData(503, false)]
    [InlineData(0, false)]
    public void IsOk_DefaultExpect_Accepts2xxOnly(int status, bool expected) =>
        Assert.Equal(expected, HealthExpect.IsOk(Result(status), null, HealthConfig.Default));

    [Theory]
    [InlineData(200, true)]
    [InlineData(301, true)]
    [InlineData(302, false)]
    [InlineData(418, true)]
    public void IsOk_SeveralRanges_AcceptsAny(int status, bool expected)
    {
        var cfg = Expecting(null, new StatusRange(200, 299), new StatusRange(301, 301), new StatusRange(400, 499));
        Assert.Equal(expected, HealthExpect.IsOk(Result(status), null, cfg));
    }

    [Fact]
    public void IsOk_EmptyStatusList_FallsBackTo2xx()
    {
        var cfg = Expecting(null);
        Assert.True(HealthExpect.IsOk(Result(200), null, cfg));
        Assert.False(HealthExpect.IsOk(Result(500), null, cfg));
    }

    [Theory]
    [InlineData("{\"status\":\"ok\"}", true)]
    [InlineData("ok", true)]
    [InlineData("OK", false)]        // ordinal: case matters
    [InlineData("degraded", false)]
    [InlineData("", false)]
    [InlineData(null, false)]        // body not read cannot satisfy a body check
    public void IsOk_BodyContains_ChecksSubstring(string? body, bool expected) =>
        Assert.Equal(expected, HealthExpect.IsOk(Result(200), body, Expecting("ok", StatusRange.Success)));

    [Fact]
    public void IsOk_BodyMatchesButStatusWrong_NotOk() =>
        Assert.False(HealthExpect.IsOk(Result(503), "ok", Expecting("ok", StatusRange.Success)));

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    public void IsOk_NoBodyExpectation_IgnoresBody(string? expected) =>
        Assert.True(HealthExpect.IsOk(Result(200), null, Expecting(expected, StatusRange.Success)));

    [Theory]
    [InlineData(0, "connection refused")]
    [InlineData(200, "body read timed out")]   // an error wins even if a status arrived
    public void IsOk_ProbeError_NotOk(int status, string error) =>
        Assert.False(HealthExpect.IsOk(Result(status, error), "ok", HealthConfig.Default));

    [Fact]
    public void Equals_SameContentSeparatelyBuilt_EqualConfigs()
    {
        var a = Expecting("ok", new StatusRange(200, 299), new StatusRange(301, 301));
        var b = Expecting("ok", new StatusRange(200, 299), new StatusRange(301, 301));
        Assert.Equal(a, b);
        Assert.Equal(a.GetHashCode(), b.GetHashCode());
        Assert.NotEqual(a, Expecting("ok", new StatusRange(200, 299)));
        Assert.NotEqual(a, Expecting("up", new StatusRange(200, 299), new StatusRange(301, 301)));
    }

    [Fact]
    public void Default_DocumentedValues()
    {
        var d = HealthConfig.Default;
        Assert.Equal("/health", d.Path);
        Assert.Equal(TimeSpan.FromSeconds(10), d.Interval);
        Assert.Equal(TimeSpan.FromSeconds(2), d.Timeout);
        Assert.Equal(0.10, d.Jitter);
        Assert.Equal([new StatusRange(200, 299)], d.Expect.Statuses.ToArray());
        Assert.Null(d.Expect.BodyContains);
        Assert.Equal(2, d.HealthyAfter);
        Assert.Equal(3, d.UnhealthyAfter);
        Assert.Equal(TimeSpan.FromSeconds(2), d.UnhealthyInterval);
        Assert.Equal(TimeSpan.FromSeconds(60), d.MaxUnhealthyInterval);
        Assert.Equal(100, d.History);
        Assert.Equal(TimeSpan.FromMinutes(5), d.FlapWindow);
        Assert.Equal(4, d.FlapThreshold);
    }
}
