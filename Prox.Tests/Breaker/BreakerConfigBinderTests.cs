using Prox.Actors.Breaker;
using Prox.Actors.Config;
using Xunit;
using static Prox.Tests.Config.ConfigTexts;

namespace Prox.Tests.Breaker;

/// <summary>The <c>breaker { … }</c> block on routes and backends: binding, key-by-key merging and validation.</summary>
public sealed class BreakerConfigBinderTests
{
    [Fact]
    public void ParseText_RouteBreakerBlock_BindsEveryFieldAndReachesBackends()
    {
        var route = SingleRoute(WithRoute($$"""
            {{Backend}}
            breaker {
              consecutive-failures = 7, failure-rate = 25%, window = 1m, minimum-requests = 40
              open-for = 2s, max-open = 2m, half-open-trials = 3
            }
            """));
        var expected = new BreakerConfig(7, 0.25, TimeSpan.FromMinutes(1), 40, TimeSpan.FromSeconds(2), TimeSpan.FromMinutes(2), 3);
        Assert.Equal(expected, route.Breaker);
        Assert.Equal(expected, route.Backends[0].Breaker);
    }

    [Fact]
    public void ParseText_EmptyBreakerBlock_TurnsBreakerOnWithDefaults()
    {
        var route = SingleRoute(WithRoute($"{Backend}\nbreaker {{}}"));
        Assert.Equal(BreakerConfig.Default, route.Breaker);
        Assert.Equal(BreakerConfig.Default, route.Backends[0].Breaker);
    }

    [Fact]
    public void ParseText_NoBreakerBlock_LeavesBreakerNull()
    {
        var route = SingleRoute(WithRoute(Backend));
        Assert.Null(route.Breaker);
        Assert.Null(route.Backends[0].Breaker);
    }

    [Fact]
    public void ParseText_BackendBreakerBlock_OverridesRouteKeyByKey()
    {
        var route = SingleRoute(WithRoute("""
            breaker { consecutive-failures = 8, open-for = 3s }
            backends = [
              { url = "http://127.0.0.1:5001", breaker { half-open-trials = 2, open-for = 500ms } }
              { url = "http://127.0.0.1:5002" }
            ]
            """));
        Assert.Equal(BreakerConfig.Default with { ConsecutiveFailures = 8, OpenFor = TimeSpan.FromMilliseconds(500), HalfOpenTrials = 2 },
            route.Backends[0].Breaker);
        Assert.Equal(BreakerConfig.Default with { ConsecutiveFailures = 8, OpenFor = TimeSpan.FromSeconds(3) }, route.Backends[1].Breaker);
    }

    [Fact]
    public void ParseText_BreakerOnOneBackendOnly_OthersKeepPassiveEjection()
    {
        var route = SingleRoute(WithRoute("""
            passive { failures-to-eject = 3 }
            backends = [
              { url = "http://127.0.0.1:5001", breaker {} }
              { url = "http://127.0.0.1:5002" }
            ]
            """));
        Assert.Equal(BreakerConfig.Default, route.Backends[0].Breaker);
        Assert.Null(route.Backends[1].Breaker);
        Assert.Equal(3, route.Passive.FailuresToEject);
    }

    [Theory]
    [InlineData("50%", 0.5)]
    [InlineData("0.5", 0.5)]
    [InlineData("100%", 1.0)]
    [InlineData("1%", 0.01)]
    public void ParseText_FailureRate_AcceptsPercentagesAndFractions(string rate, double expected) =>
        Assert.Equal(expected, SingleRoute(WithRoute($"{Backend}\nbreaker {{ failure-rate = \"{rate}\" }}")).Breaker!.FailureRateThreshold);

    [Fact]
    public void ParseText_InvalidBreaker_ReportsEveryErrorWithItsPath()
    {
        var errors = Errors(WithRoute("""
            breaker {
              consecutive-failures = -1, failure-rate = 150%, window = 100ms, minimum-requests = 0
              open-for = 10s, max-open = 5s, half-open-trials = 0, half-open = 2
            }
            backends = [{ url = "http://127.0.0.1:5001", breaker { open-for = soon } }]
            """));
        Assert.Contains(errors, e => e.StartsWith("prox.routes.api.breaker.consecutive-failures: must be an integer from 0 to", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("prox.routes.api.breaker.failure-rate: must be a percentage from 1% to 100%", StringComparison.Ordinal));
        Assert.Contains("prox.routes.api.breaker.window: must be at least 1s, got 00:00:00.1000000", errors);
        Assert.Contains(errors, e => e.StartsWith("prox.routes.api.breaker.minimum-requests: must be an integer from 1 to", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("prox.routes.api.breaker.max-open: max-open (00:00:05) must not be less than open-for (00:00:10)", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("prox.routes.api.breaker.half-open-trials: must be an integer from 1 to 100", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("prox.routes.api.breaker.half-open:", StringComparison.Ordinal)); // unknown key
        Assert.Contains(errors, e => e.StartsWith("prox.routes.api.backends[0].breaker.open-for:", StringComparison.Ordinal));
    }

    [Fact]
    public void ParseText_BreakerAndPassiveOnOneRoute_IsAnError()
    {
        var errors = Errors(WithRoute($"{Backend}\nbreaker {{}}\npassive {{ failures-to-eject = 3 }}"));
        Assert.Contains("prox.routes.api.passive: not used when the route has a breaker (the breaker replaces passive ejection); remove one of them", errors);
    }
}
