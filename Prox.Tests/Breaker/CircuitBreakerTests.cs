using Prox.Actors.Breaker;
using Xunit;

namespace Prox.Tests.Breaker;

public class CircuitBreakerTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly BreakerConfig Cfg = BreakerConfig.Default;

    // isolates the failure-rate rule: the consecutive rule is off
    private static readonly BreakerConfig RateOnly = Cfg with { ConsecutiveFailures = 0 };

    private static BreakerState Feed(BreakerState s, bool ok, int times, DateTimeOffset now, BreakerConfig cfg)
    {
        for (var i = 0; i < times; i++) s = CircuitBreaker.OnResult(s, ok, now, cfg);
        return s;
    }

    private static BreakerState Opened(DateTimeOffset now, BreakerConfig? cfg = null) =>
        Feed(BreakerState.Initial, false, (cfg ?? Cfg).ConsecutiveFailures, now, cfg ?? Cfg);

    private static BreakerState HalfOpened(BreakerConfig? cfg = null) =>
        CircuitBreaker.OnTimer(Opened(T0, cfg), T0 + TimeSpan.FromHours(1), cfg ?? Cfg);

    [Fact]
    public void OnResult_ConsecutiveFailuresBelowThreshold_StaysClosed()
    {
        var s = Feed(BreakerState.Initial, false, 4, T0, Cfg);
        Assert.Equal(BreakerMode.Closed, s.Mode);
        Assert.Equal(4, s.ConsecutiveFailures);
    }

    [Fact]
    public void OnResult_ConsecutiveFailuresAtThreshold_OpensForOpenFor()
    {
        var s = Feed(BreakerState.Initial, false, 5, T0, Cfg);
        Assert.Equal(BreakerMode.Open, s.Mode);
        Assert.Equal(1, s.Openings);
        Assert.Equal(T0 + TimeSpan.FromSeconds(1), s.OpenUntil);
    }

    [Fact]
    public void OnResult_SuccessBetweenFailures_ResetsConsecutiveCount()
    {
        var s = Feed(BreakerState.Initial, false, 4, T0, Cfg);
        s = CircuitBreaker.OnResult(s, true, T0, Cfg);
        Assert.Equal(0, s.ConsecutiveFailures);
        s = Feed(s, false, 4, T0, Cfg);
        Assert.Equal(BreakerMode.Closed, s.Mode);
    }

    [Theory]
    [InlineData(19, 10, BreakerMode.Closed)] // rate above threshold, but too few results
    [InlineData(20, 9, BreakerMode.Closed)]  // enough results, rate 45%
    [InlineData(20, 10, BreakerMode.Open)]   // enough results, rate 50%
    [InlineData(40, 19, BreakerMode.Closed)]
    [InlineData(40, 20, BreakerMode.Open)]
    public void OnResult_FailureRate_OpensOnlyAtThresholdWithMinimumRequests(int total, int failures, BreakerMode expected)
    {
        var s = Feed(BreakerState.Initial, true, total - failures, T0, RateOnly);
        s = Feed(s, false, failures, T0, RateOnly);
        Assert.Equal(expected, s.Mode);
    }

    [Fact]
    public void OnResult_FailureRateWithConsecutiveRuleOn_InterleavedFailuresOpen()
    {
        var s = BreakerState.Initial;
        for (var i = 0; i < 10; i++)
        {
            s = CircuitBreaker.OnResult(s, true, T0, Cfg);
            s = CircuitBreaker.OnResult(s, false, T0, Cfg);
        }
        Assert.Equal(BreakerMode.Open, s.Mode);
    }

    [Theory]
    [InlineData(0, BreakerMode.Open)]
    [InlineData(29, BreakerMode.Open)]    // the first results are still inside the 30s window
    [InlineData(30, BreakerMode.Closed)]  // ... and now they have fallen out (their slot is reused)
    [InlineData(31, BreakerMode.Closed)]  // fallen out while their slot still holds them
    [InlineData(45, BreakerMode.Closed)]
    [InlineData(3600, BreakerMode.Closed)]
    public void OnResult_ResultsOlderThanWindow_FallOut(int laterSeconds, BreakerMode expected)
    {
        var s = Feed(BreakerState.Initial, false, 15, T0, RateOnly);
        Assert.Equal(BreakerMode.Closed, s.Mode);
        s = Feed(s, false, 5, T0 + TimeSpan.FromSeconds(laterSeconds), RateOnly);
        Assert.Equal(expected, s.Mode);
    }

    [Fact]
    public void OnResult_SuccessWhenRateAlreadyHigh_DoesNotOpen()
    {
        // 19 failures then a success reaches MinimumRequests at 95%; only a failure may trip
        var s = Feed(BreakerState.Initial, false, 19, T0, RateOnly);
        s = CircuitBreaker.OnResult(s, true, T0, RateOnly);
        Assert.Equal(BreakerMode.Closed, s.Mode);
        s = CircuitBreaker.OnResult(s, false, T0, RateOnly);
        Assert.Equal(BreakerMode.Open, s.Mode);
    }

    [Theory]
    [InlineData(0, 1)]
    [InlineData(1, 1)]
    [InlineData(2, 2)]
    [InlineData(3, 4)]
    [InlineData(4, 8)]
    [InlineData(5, 16)]
    [InlineData(6, 32)]
    [InlineData(7, 60)]
    [InlineData(8, 60)]
    [InlineData(64, 60)]
    [InlineData(int.MaxValue, 60)]
    public void OpenTime_Openings_DoublesAndCapsAtMaxOpen(int openings, int expectedSeconds) =>
        Assert.Equal(TimeSpan.FromSeconds(expectedSeconds), CircuitBreaker.OpenTime(openings, Cfg));

    [Theory]
    [InlineData(0, BreakerMode.Open)]
    [InlineData(999, BreakerMode.Open)]
    [InlineData(1000, BreakerMode.HalfOpen)]
    [InlineData(5000, BreakerMode.HalfOpen)]
    public void OnTimer_RelativeToOpenUntil_MovesToHalfOpenOnlyWhenPassed(int afterMs, BreakerMode expected)
    {
        var s = CircuitBreaker.OnTimer(Opened(T0), T0 + TimeSpan.FromMilliseconds(afterMs), Cfg);
        Assert.Equal(expected, s.Mode);
        if (expected == BreakerMode.HalfOpen) Assert.Null(s.OpenUntil);
    }

    [Fact]
    public void OnTimer_Closed_NoChange()
    {
        var s = Feed(BreakerState.Initial, false, 2, T0, Cfg);
        Assert.Same(s, CircuitBreaker.OnTimer(s, T0 + TimeSpan.FromHours(1), Cfg));
    }

    [Fact]
    public void OnResult_HalfOpenAllTrialsSucceed_ClosesAndNextOpeningStartsAtOpenFor()
    {
        var cfg = Cfg with { HalfOpenTrials = 3 };
        var s = HalfOpened(cfg);
        var now = T0 + TimeSpan.FromHours(1);
        s = Feed(s, true, 2, now, cfg);
        Assert.Equal(BreakerMode.HalfOpen, s.Mode);
        Assert.Equal(2, s.TrialSuccesses);

        s = CircuitBreaker.OnResult(s, true, now, cfg);
        Assert.Equal(BreakerMode.Closed, s.Mode);
        Assert.Equal(0, s.Openings);
        Assert.Equal(0, s.Window.Counts(now).Total);

        s = Feed(s, false, cfg.ConsecutiveFailures, now, cfg);
        Assert.Equal(now + cfg.OpenFor, s.OpenUntil);
    }

    [Fact]
    public void OnResult_HalfOpenTrialFails_ReopensWithDoubledTime()
    {
        var cfg = Cfg with { HalfOpenTrials = 3 };
        var now = T0 + TimeSpan.FromHours(1);
        var s = Feed(HalfOpened(cfg), true, 2, now, cfg);
        s = CircuitBreaker.OnResult(s, false, now, cfg);
        Assert.Equal(BreakerMode.Open, s.Mode);
        Assert.Equal(2, s.Openings);
        Assert.Equal(now + TimeSpan.FromSeconds(2), s.OpenUntil);
        Assert.Equal(0, s.TrialSuccesses);
    }

    [Fact]
    public void OnResult_RepeatedFailedTrials_OpenTimesDoubleUpToMaxOpen()
    {
        var now = T0;
        var s = Opened(now);
        var seen = new List<TimeSpan> { s.OpenUntil!.Value - now };
        for (var i = 0; i < 8; i++)
        {
            now = s.OpenUntil!.Value;
            s = CircuitBreaker.OnTimer(s, now, Cfg);
            s = CircuitBreaker.OnResult(s, false, now, Cfg);
            seen.Add(s.OpenUntil!.Value - now);
        }
        Assert.Equal(new[] { 1, 2, 4, 8, 16, 32, 60, 60, 60 }.Select(x => TimeSpan.FromSeconds(x)), seen);
    }

    [Fact]
    public void OnResult_WhileOpen_Ignored()
    {
        var open = Opened(T0);
        var s = Feed(open, true, 100, T0 + TimeSpan.FromMilliseconds(10), Cfg);
        s = Feed(s, false, 100, T0 + TimeSpan.FromMilliseconds(20), Cfg);
        Assert.Same(open, s);
    }

    [Fact]
    public void OnHealthCheck_OkWhileOpen_MovesToHalfOpenNeverClosed()
    {
        var s = CircuitBreaker.OnHealthCheck(Opened(T0), true, T0, Cfg);
        Assert.Equal(BreakerMode.HalfOpen, s.Mode);
        s = CircuitBreaker.OnHealthCheck(s, true, T0, Cfg);
        Assert.Equal(BreakerMode.HalfOpen, s.Mode); // only trial requests close it
    }

    [Fact]
    public void OnHealthCheck_FailWhileHalfOpen_ReopensWithDoubledTime()
    {
        var now = T0 + TimeSpan.FromHours(1);
        var s = CircuitBreaker.OnHealthCheck(HalfOpened(), false, now, Cfg);
        Assert.Equal(BreakerMode.Open, s.Mode);
        Assert.Equal(now + TimeSpan.FromSeconds(2), s.OpenUntil);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void OnHealthCheck_WhileClosed_NoChange(bool ok)
    {
        var s = Feed(BreakerState.Initial, false, 3, T0, Cfg);
        Assert.Same(s, CircuitBreaker.OnHealthCheck(s, ok, T0, Cfg));
    }

    [Fact]
    public void OnHealthCheck_FailWhileOpen_NoChange()
    {
        var s = Opened(T0);
        Assert.Same(s, CircuitBreaker.OnHealthCheck(s, false, T0, Cfg));
    }

    [Theory]
    [InlineData(30, 30)]
    [InlineData(3600, FailureWindow.MaxBuckets)]
    public void OnResult_MillionResultsOverAnHour_StateStaysBounded(int windowSeconds, int expectedBuckets)
    {
        var cfg = Cfg with { Window = TimeSpan.FromSeconds(windowSeconds) };
        var s = BreakerState.Initial;
        var step = TimeSpan.FromHours(1) / 1_000_000; // 3.6ms
        var now = T0;
        var maxBuckets = 0;
        for (var i = 0; i < 1_000_000; i++)
        {
            now += step;
            s = CircuitBreaker.OnResult(s, i % 10 != 0, now, cfg); // 10% failures: never trips
            maxBuckets = Math.Max(maxBuckets, s.Window.BucketCount);
        }
        Assert.Equal(BreakerMode.Closed, s.Mode);
        Assert.Equal(expectedBuckets, maxBuckets);
        // the counts cover the window, not the whole hour
        var (total, failures) = s.Window.Counts(now);
        var perWindow = cfg.Window / step;
        Assert.InRange(total, perWindow * 0.9, perWindow * 1.01);
        Assert.InRange(failures, total * 0.09, total * 0.11);
    }

    [Fact]
    public void OnResult_WindowLengthReloaded_StartsNewWindow()
    {
        var s = Feed(BreakerState.Initial, false, 15, T0, RateOnly);
        var reloaded = RateOnly with { Window = TimeSpan.FromSeconds(10) };
        s = Feed(s, false, 5, T0, reloaded);
        Assert.Equal(BreakerMode.Closed, s.Mode);
        Assert.Equal(10, s.Window.BucketCount);
        Assert.Equal(5, s.Window.Counts(T0).Total);
    }
}
