using Prox.Actors.Health;
using Xunit;

namespace Prox.Tests.Health;

public sealed class HealthPolicyTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly HealthConfig Cfg = HealthConfig.Default;

    private static ProbeResult At(double seconds, int latencyMs = 5, int status = 200) =>
        new(T0.AddSeconds(seconds), status, TimeSpan.FromMilliseconds(latencyMs));

    /// <summary>Applies probes given as 'o' (ok) / 'x' (failed), one second apart; returns the last transition.</summary>
    private static (HealthState State, HealthTransition Last) Run(HealthState s, string pattern, HealthConfig? cfg = null)
    {
        var t = HealthTransition.None;
        for (int i = 0; i < pattern.Length; i++)
            (s, t) = HealthPolicy.OnProbe(s, At(i), pattern[i] == 'o', cfg ?? Cfg);
        return (s, t);
    }

    private static HealthState Down() => Run(HealthState.Initial(Cfg), "xxx").State;

    // ---- start, rise and fall ----

    [Fact]
    public void Initial_NewBackend_StartsHealthy()
    {
        var s = HealthState.Initial(Cfg);
        Assert.True(s.Healthy);
        Assert.False(s.Unstable);
        Assert.Empty(s.History);
        Assert.Equal(Cfg.Interval, s.Interval);
    }

    [Theory]
    [InlineData("x", true, HealthTransition.None)]
    [InlineData("xx", true, HealthTransition.None)]
    [InlineData("xxx", false, HealthTransition.BecameUnhealthy)]   // fall on exactly the 3rd
    [InlineData("xxxx", false, HealthTransition.None)]             // no second transition
    [InlineData("xxoxx", true, HealthTransition.None)]             // the ok reset the count
    [InlineData("xxoxxx", false, HealthTransition.BecameUnhealthy)]
    [InlineData("oooo", true, HealthTransition.None)]
    public void OnProbe_FromHealthy_FallsAfterExactlyUnhealthyAfterFailures(
        string pattern, bool healthy, HealthTransition last)
    {
        var (s, t) = Run(HealthState.Initial(Cfg), pattern);
        Assert.Equal(healthy, s.Healthy);
        Assert.Equal(last, t);
    }

    [Theory]
    [InlineData("o", false, HealthTransition.None)]
    [InlineData("oo", true, HealthTransition.BecameHealthy)]       // rise on exactly the 2nd
    [InlineData("oxo", false, HealthTransition.None)]              // a failure resets the count
    [InlineData("oxoo", true, HealthTransition.BecameHealthy)]
    [InlineData("ooo", true, HealthTransition.None)]
    [InlineData("x", false, HealthTransition.None)]
    public void OnProbe_FromUnhealthy_RisesAfterExactlyHealthyAfterOks(
        string pattern, bool healthy, HealthTransition last)
    {
        var (s, t) = Run(Down(), pattern);
        Assert.Equal(healthy, s.Healthy);
        Assert.Equal(last, t);
    }

    [Fact]
    public void OnProbe_CustomThresholds_Honoured()
    {
        var cfg = Cfg with { UnhealthyAfter = 1, HealthyAfter = 3 };
        var (s, t) = Run(HealthState.Initial(cfg), "x", cfg);
        Assert.Equal(HealthTransition.BecameUnhealthy, t);
        (s, t) = Run(s, "oo", cfg);
        Assert.Equal(HealthTransition.None, t);
        (_, t) = Run(s, "o", cfg);
        Assert.Equal(HealthTransition.BecameHealthy, t);
    }

    [Fact]
    public void OnProbe_Counts_TrackConsecutiveRuns()
    {
        var (s, _) = Run(HealthState.Initial(Cfg), "ooxx");
        Assert.Equal(0, s.ConsecutiveOk);
        Assert.Equal(2, s.ConsecutiveFailed);
        (s, _) = Run(s, "o");
        Assert.Equal(1, s.ConsecutiveOk);
        Assert.Equal(0, s.ConsecutiveFailed);
    }

    // ---- interval ----

    [Theory]
    [InlineData("", 10)]          // healthy
    [InlineData("xx", 10)]        // failing but not yet down: still the healthy interval
    [InlineData("xxx", 2)]        // just fell
    [InlineData("xxxx", 4)]
    [InlineData("xxxxx", 8)]
    [InlineData("xxxxxx", 16)]
    [InlineData("xxxxxxx", 32)]
    [InlineData("xxxxxxxx", 60)]  // 64 capped
    [InlineData("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", 60)]
    [InlineData("xxxxxo", 2)]     // an ok while down resets the doubling
    [InlineData("xxxoo", 10)]     // back up
    public void NextInterval_NoJitter_DoublesWhileDownAndCaps(string pattern, int expectedSeconds)
    {
        var (s, _) = Run(HealthState.Initial(Cfg), pattern);
        var noJitter = Cfg with { Jitter = 0 };
        Assert.Equal(TimeSpan.FromSeconds(expectedSeconds), HealthPolicy.NextInterval(s, noJitter, 0.123));
        Assert.Equal(TimeSpan.FromSeconds(expectedSeconds), s.Interval);
    }

    [Fact]
    public void NextInterval_VeryLongOutage_DoesNotOverflow()
    {
        var s = Down() with { ConsecutiveFailed = int.MaxValue };
        Assert.Equal(Cfg.MaxUnhealthyInterval, HealthPolicy.NextInterval(s, Cfg with { Jitter = 0 }, 0.5));
    }

    [Theory]
    [InlineData(0.0, 9000)]
    [InlineData(0.25, 9500)]
    [InlineData(0.5, 10000)]
    [InlineData(0.75, 10500)]
    [InlineData(1.0, 11000)]
    [InlineData(-3.0, 9000)]    // clamped
    [InlineData(7.0, 11000)]
    public void NextInterval_Jitter_UsesInjectedRandom(double random01, int expectedMs) =>
        Assert.Equal(TimeSpan.FromMilliseconds(expectedMs),
            HealthPolicy.NextInterval(HealthState.Initial(Cfg), Cfg, random01));

    [Fact]
    public void NextInterval_JitterAppliedAfterCap_StaysWithinTenPercentOfCap()
    {
        var s = Down() with { ConsecutiveFailed = 50 };
        Assert.Equal(TimeSpan.FromSeconds(54), HealthPolicy.NextInterval(s, Cfg, 0));
        Assert.Equal(TimeSpan.FromSeconds(66), HealthPolicy.NextInterval(s, Cfg, 1));
    }

    [Fact]
    public void NextInterval_ManyRandomValues_StayWithinJitterBounds()
    {
        var rng = new Random(42);
        foreach (var state in new[] { HealthState.Initial(Cfg), Down(), Run(Down(), "xxxxxxxxx").State })
        {
            var unjittered = HealthPolicy.NextInterval(state, Cfg, 0.5);
            for (int i = 0; i < 1000; i++)
            {
                var d = HealthPolicy.NextInterval(state, Cfg, rng.NextDouble());
                Assert.InRange(d.Ticks, (long)(unjittered.Ticks * 0.9), (long)(unjittered.Ticks * 1.1));
            }
        }
    }

    // ---- history and uptime ----

    [Theory]
    [InlineData(1, 1)]
    [InlineData(99, 99)]
    [InlineData(100, 100)]
    [InlineData(101, 100)]
    [InlineData(250, 100)]
    public void OnProbe_History_BoundedAtConfiguredSize(int probes, int expected)
    {
        var (s, _) = Run(HealthState.Initial(Cfg), new string('o', probes));
        Assert.Equal(expected, s.History.Length);
        // oldest dropped first: the newest entry is the last probe
        Assert.Equal(T0.AddSeconds(probes - 1), s.History[^1].Result.At);
        Assert.Equal(T0.AddSeconds(probes - expected), s.History[0].Result.At);
    }

    [Fact]
    public void OnProbe_HistoryShrunkByReload_TrimsOldest()
    {
        var (s, _) = Run(HealthState.Initial(Cfg), new string('o', 50));
        var small = Cfg with { History = 10 };
        (s, _) = HealthPolicy.OnProbe(s, At(100), ok: false, small);
        Assert.Equal(10, s.History.Length);
        Assert.Equal(T0.AddSeconds(100), s.History[^1].Result.At);
        Assert.Equal(T0.AddSeconds(41), s.History[0].Result.At);
    }

    [Theory]
    [InlineData("", 100.0)]
    [InlineData("o", 100.0)]
    [InlineData("x", 0.0)]
    [InlineData("oooxooox", 75.0)]
    [InlineData("oxx", 100.0 / 3)]
    public void UptimePercent_History_OkShare(string pattern, double expected) =>
        Assert.Equal(expected, HealthPolicy.UptimePercent(Run(HealthState.Initial(Cfg), pattern).State), 9);

    [Fact]
    public void UptimePercent_FailuresAgedOut_CountsOnlyKeptHistory()
    {
        var cfg = Cfg with { History = 4 };
        var (s, _) = Run(HealthState.Initial(cfg), "xxxxoooxo", cfg);   // kept: "ooxo"
        Assert.Equal(75.0, HealthPolicy.UptimePercent(s));
    }

    // ---- latency summary ----

    [Fact]
    public void SummarizeLatency_Empty_AllZero() =>
        Assert.Equal(default, HealthPolicy.SummarizeLatency(HealthState.Initial(Cfg)));

    [Fact]
    public void SummarizeLatency_OneToHundredMs_NearestRankPercentiles()
    {
        var s = HealthState.Initial(Cfg);
        // shuffled so the summary cannot rely on arrival order
        foreach (var ms in Enumerable.Range(1, 100).OrderBy(i => (i * 37) % 101))
            (s, _) = HealthPolicy.OnProbe(s, At(ms, ms), ok: true, Cfg);
        Assert.Equal(new LatencySummary(100, 50, 95, 100), HealthPolicy.SummarizeLatency(s));
    }

    [Fact]
    public void SummarizeLatency_NoResponse_Excluded()
    {
        var s = HealthState.Initial(Cfg);
        (s, _) = HealthPolicy.OnProbe(s, At(0, 10), ok: true, Cfg);
        (s, _) = HealthPolicy.OnProbe(s, At(1, 30, status: 503), ok: false, Cfg);
        (s, _) = HealthPolicy.OnProbe(s, new ProbeResult(T0.AddSeconds(2), 0, TimeSpan.FromSeconds(2), "timeout"), false, Cfg);
        Assert.Equal(new LatencySummary(2, 10, 30, 30), HealthPolicy.SummarizeLatency(s));
    }

    // ---- flapping ----

    /// <summary>Alternates down/up transitions, one every <paramref name="spacingSeconds"/>; returns the state
    /// after <paramref name="changes"/> transitions and the time of the last one.</summary>
    private static (HealthState State, double LastAt) Flap(int changes, double spacingSeconds)
    {
        var cfg = Cfg with { UnhealthyAfter = 1, HealthyAfter = 1 };
        var s = HealthState.Initial(cfg);
        double at = 0;
        for (int i = 0; i < changes; i++)
        {
            at = i * spacingSeconds;
            HealthTransition t;
            (s, t) = HealthPolicy.OnProbe(s, At(at), ok: !s.Healthy, cfg);
            Assert.NotEqual(HealthTransition.None, t);
        }
        return (s, at);
    }

    [Theory]
    [InlineData(1, 10, false)]
    [InlineData(4, 10, false)]    // exactly the threshold is not "more than"
    [InlineData(5, 10, true)]
    [InlineData(8, 10, true)]
    [InlineData(5, 74, true)]     // 5 changes spread over 296 s: still inside 5 minutes
    [InlineData(5, 75, false)]    // the first change is exactly 300 s old when the 5th happens
    [InlineData(20, 100, false)]  // many changes, but never more than 3 in any window
    public void OnProbe_StateChanges_UnstableWhenMoreThanThresholdInWindow(int changes, double spacing, bool unstable)
    {
        var (s, _) = Flap(changes, spacing);
        Assert.Equal(unstable, s.Unstable);
        Assert.InRange(s.StateChanges.Length, 0, Cfg.FlapThreshold + 1);
    }

    [Fact]
    public void OnProbe_WindowPassesWithoutChanges_ClearsUnstable()
    {
        var cfg = Cfg with { UnhealthyAfter = 1, HealthyAfter = 1 };
        var (s, lastAt) = Flap(5, 10);   // ends unhealthy at t=40, first change at t=0
        Assert.True(s.Unstable);

        // still down, no new changes; the t=0 change is within 5 minutes until t=300
        (s, _) = HealthPolicy.OnProbe(s, At(299), ok: false, cfg);
        Assert.True(s.Unstable);
        (s, _) = HealthPolicy.OnProbe(s, At(300), ok: false, cfg);
        Assert.False(s.Unstable);
        Assert.Equal(4, s.StateChanges.Length);

        (s, _) = HealthPolicy.OnProbe(s, At(lastAt + 300), ok: false, cfg);
        Assert.False(s.Unstable);
        Assert.Empty(s.StateChanges);
    }

    [Fact]
    public void OnProbe_FlappingAgainAfterCalm_MarksUnstableAgain()
    {
        var cfg = Cfg with { UnhealthyAfter = 1, HealthyAfter = 1 };
        var (s, _) = Flap(5, 10);
        (s, _) = HealthPolicy.OnProbe(s, At(1000), ok: false, cfg);
        Assert.False(s.Unstable);
        for (int i = 1; i <= 5; i++)
            (s, _) = HealthPolicy.OnProbe(s, At(1000 + i), ok: !s.Healthy, cfg);
        Assert.True(s.Unstable);
    }
}
