using Prox.Actors.Config;
using Xunit;

namespace Prox.Tests.Config;

/// <summary>The route's <c>timeouts</c> section: <c>idle</c> beside <c>connect</c> and <c>request</c>.</summary>
public sealed class TimeoutsConfigTests
{
    private static ConfigParseResult Parse(string timeouts) => ProxConfigParser.ParseText($$"""
        prox {
          routes {
            api {
              backends = [{ url = "http://127.0.0.1:5001" }]
              {{timeouts}}
            }
          }
        }
        """, _ => null);

    private static TimeoutsConfig Bound(string timeouts)
    {
        var result = Parse(timeouts);
        Assert.True(result.IsValid, string.Join(Environment.NewLine, result.Errors));
        return Assert.Single(result.Config!.Routes).Timeouts;
    }

    [Fact]
    public void ParseText_NoTimeouts_IdleDefaultsTo60s() =>
        Assert.Equal(TimeSpan.FromSeconds(60), Bound("").Idle);

    [Fact]
    public void ParseText_Idle_BindsBesideConnectAndRequest()
    {
        var t = Bound("timeouts { connect = 1s, request = 10s, idle = 2m }");
        Assert.Equal(new TimeoutsConfig(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(10)) { Idle = TimeSpan.FromMinutes(2) }, t);
    }

    [Fact]
    public void ParseText_IdleOnly_OthersKeepTheirDefaults()
    {
        var t = Bound("timeouts.idle = 250ms");
        Assert.Equal(TimeoutsConfig.Default with { Idle = TimeSpan.FromMilliseconds(250) }, t);
    }

    [Theory]
    [InlineData("timeouts { idle = 0s }", "prox.routes.api.timeouts.idle", "must be greater than 0")]
    [InlineData("timeouts { idle = -1s }", "prox.routes.api.timeouts.idle", "must not be negative")]
    [InlineData("timeouts { idle = soon }", "prox.routes.api.timeouts.idle", "'soon' is not a duration (use e.g. 500ms, 2s, 1m or 10 seconds)")]
    [InlineData("timeouts { idle = 30d }", "prox.routes.api.timeouts.idle", "must be at most 24d (the longest timer .NET can arm)")]
    [InlineData("timeouts { idel = 5s }", "prox.routes.api.timeouts.idel", "unknown key (did you mean 'idle'?)")]
    public void ParseText_BadIdle_ErrorWithPath(string timeouts, string path, string message)
    {
        var result = Parse(timeouts);
        Assert.False(result.IsValid);
        Assert.Contains(result.Errors, e => e.Path == path && e.Message == message);
    }
}
