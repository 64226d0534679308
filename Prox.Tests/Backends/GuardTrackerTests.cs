using Prox.Actors.Backends;
using Prox.Actors.Breaker;
using Prox.Actors.Config;
using Prox.Actors.Events;
using Prox.Actors.Timing;
using Xunit;

namespace Prox.Tests.Backends;

/// <summary>The guard as a pure tracker: state, input and time in; state, events and timers out. No ActorSystem.</summary>
public class GuardTrackerTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(31);
    private static readonly GuardSettings Passive = new(new PassiveConfig(3, TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(60)), null, Deadline);
    private static readonly GuardSettings WithBreaker = Passive with { Breaker = BreakerConfig.Default with { HalfOpenTrials = 2 } };
    private static readonly GuardState Initial = new(PassiveState.Initial, BreakerState.Initial, null);

    private static RequestOutcome Outcome(OutcomeKind kind) => new(kind, kind == OutcomeKind.Success ? 200 : 0, TimeSpan.FromMilliseconds(5));

    private static GuardStep Feed(GuardState s, OutcomeKind kind, int times, GuardSettings cfg)
    {
        var step = GuardStep.Same(s);
        for (var i = 0; i < times; i++) step = GuardTracker.OnOutcome(step.State, Outcome(kind), T0, cfg);
        return step;
    }

    [Theory]
    // failures in a row → ejected? (threshold 3)
    [InlineData(1, false)]
    [InlineData(2, false)]
    [InlineData(3, true)]
    public void OnOutcome_PassiveFailures_EjectAtThresholdWithEventAndReturnTimer(int failures, bool ejected)
    {
        var step = Feed(Initial, OutcomeKind.ConnectFailure, failures, Passive);

        Assert.Equal(ejected, step.State.Blocks);
        Assert.Equal(ejected ? [ProxEventKinds.BackendEjected] : [], step.Events.Select(e => e.Kind));
        Assert.Equal(ejected ? [TimerChange.Start(GuardTracker.ReturnTimer, TimeSpan.FromSeconds(10))] : [], step.Timers.ToArray());
    }

    [Fact]
    public void OnOutcome_ClientAbort_ChangesNothing()
    {
        var s = Feed(Initial, OutcomeKind.ConnectFailure, 2, Passive).State;
        var step = GuardTracker.OnOutcome(s, Outcome(OutcomeKind.ClientAbort), T0, Passive);
        Assert.Equal(s, step.State);
        Assert.Empty(step.Events);
        Assert.Empty(step.Timers.ToArray());
    }

    [Theory]
    // seconds after the ejection the timer fires → returned, or re-armed for the rest
    [InlineData(10, true, null)]
    [InlineData(9.99, false, 0.01)]
    public void OnReturnTimer_ReturnsWhenDue_ElseWaitsOutTheRest(double afterSeconds, bool returned, double? restSeconds)
    {
        var ejected = Feed(Initial, OutcomeKind.Timeout, 3, Passive).State;
        var step = GuardTracker.OnReturnTimer(ejected, T0 + TimeSpan.FromSeconds(afterSeconds));

        Assert.Equal(!returned, step.State.Blocks);
        Assert.Equal(returned ? [ProxEventKinds.BackendReturned] : [], step.Events.Select(e => e.Kind));
        Assert.Equal(restSeconds is { } rest ? [TimerChange.Start(GuardTracker.ReturnTimer, TimeSpan.FromSeconds(rest))] : [], step.Timers.ToArray());
    }

    [Fact]
    public void OnOutcome_BreakerOpens_CancelsTrialsAndArmsOpenTimer()
    {
        var step = Feed(Initial, OutcomeKind.GatewayStatus, 5, WithBreaker);

        Assert.Equal(BreakerMode.Open, step.State.Breaker.Mode);
        Assert.True(step.State.Blocks);
        Assert.Equal(T0 + TimeSpan.FromSeconds(1), step.State.BlockedUntil);
        var opened = Assert.Single(step.Events);
        Assert.Equal(ProxEventKinds.BreakerOpened, opened.Kind);
        Assert.Equal("5 consecutive failures (last: GatewayStatus); open for 1 s (opening 1)", opened.Detail);
        Assert.Equal([TimerChange.Cancel(GuardTracker.TrialTimer), TimerChange.Start(GuardTracker.BreakerTimer, TimeSpan.FromSeconds(1))],
            step.Timers.ToArray());
    }

    [Fact]
    public void OnBreakerTimer_HalfOpen_HandsOutFreshPermitsWithDeadline_SuccessfulTrialsClose()
    {
        var open = Feed(Initial, OutcomeKind.GatewayStatus, 5, WithBreaker).State;
        var half = GuardTracker.OnBreakerTimer(open, T0 + TimeSpan.FromSeconds(1), WithBreaker);

        Assert.Equal(BreakerMode.HalfOpen, half.State.Breaker.Mode);
        Assert.Equal(2, half.State.Trials!.Remaining);
        Assert.Equal([ProxEventKinds.BreakerHalfOpen], half.Events.Select(e => e.Kind));
        Assert.Equal([TimerChange.Cancel(GuardTracker.BreakerTimer), TimerChange.Start(GuardTracker.TrialTimer, Deadline)], half.Timers.ToArray());

        // an outcome not admitted by this period's permits does not count
        var stray = GuardTracker.OnOutcome(half.State, Outcome(OutcomeKind.Success), T0, WithBreaker);
        Assert.Equal(half.State, stray.State); // unchanged, the same permits included

        var trial = Outcome(OutcomeKind.Success) with { Trial = half.State.Trials };
        var one = GuardTracker.OnOutcome(half.State, trial, T0, WithBreaker);
        Assert.Equal(BreakerMode.HalfOpen, one.State.Breaker.Mode);
        var two = GuardTracker.OnOutcome(one.State, trial, T0, WithBreaker);
        Assert.Equal(BreakerMode.Closed, two.State.Breaker.Mode);
        Assert.Null(two.State.Trials);
        Assert.Equal([ProxEventKinds.BreakerClosed], two.Events.Select(e => e.Kind));
    }

    [Theory]
    // permits handed out (of 2) → fresh permits at the deadline?
    [InlineData(2, true)]
    [InlineData(1, false)]
    public void OnTrialDeadline_AllHandedOutUnreported_FreshPermits(int handedOut, bool fresh)
    {
        var open = Feed(Initial, OutcomeKind.GatewayStatus, 5, WithBreaker).State;
        var half = GuardTracker.OnBreakerTimer(open, T0 + TimeSpan.FromSeconds(1), WithBreaker).State;
        for (var i = 0; i < handedOut; i++) half.Trials!.TryAcquire();

        var step = GuardTracker.OnTrialDeadline(half, half.Trials!, WithBreaker);

        Assert.Equal(fresh, !ReferenceEquals(half.Trials, step.State.Trials));
        Assert.Equal([TimerChange.Start(GuardTracker.TrialTimer, Deadline)], step.Timers.ToArray());
        // a deadline of older permits is ignored
        Assert.Empty(GuardTracker.OnTrialDeadline(step.State, new HalfOpenPermits(1), WithBreaker).Timers.ToArray());
    }

    [Fact]
    public void OnHealthCheck_PassWhileEjectedAndHealthy_ReturnsEarlyAndCancelsTimer()
    {
        var ejected = Feed(Initial, OutcomeKind.Timeout, 3, Passive).State;

        var step = GuardTracker.OnHealthCheck(ejected, ok: true, healthy: true, "status 200", T0 + TimeSpan.FromSeconds(2), Passive);

        Assert.False(step.State.Blocks);
        Assert.True(step.State.Passive.Probation);
        Assert.Equal([ProxEventKinds.BackendReturned], step.Events.Select(e => e.Kind));
        Assert.Equal([TimerChange.Cancel(GuardTracker.ReturnTimer)], step.Timers.ToArray());
        // not yet healthy by the checks: stays ejected
        Assert.True(GuardTracker.OnHealthCheck(ejected, true, false, "status 200", T0, Passive).State.Blocks);
    }

    [Fact]
    public void OnHealthCheck_PassWhileOpen_HalfOpens_FailWhileHalfOpen_Reopens()
    {
        var open = Feed(Initial, OutcomeKind.GatewayStatus, 5, WithBreaker).State;

        var half = GuardTracker.OnHealthCheck(open, true, true, "status 200", T0, WithBreaker);
        Assert.Equal(BreakerMode.HalfOpen, half.State.Breaker.Mode);
        Assert.Equal("a health check passed; admitting 2 trial request(s)", Assert.Single(half.Events).Detail);

        var reopened = GuardTracker.OnHealthCheck(half.State, false, true, "status 503", T0, WithBreaker);
        Assert.Equal(BreakerMode.Open, reopened.State.Breaker.Mode);
        Assert.StartsWith("a health check failed (status 503); open for 2 s", Assert.Single(reopened.Events).Detail);
    }

    [Fact]
    public void OnRestart_RearmsTimersFromState_AndRestartsRemainingTrials()
    {
        var ejected = Feed(Initial, OutcomeKind.Timeout, 3, Passive).State;
        Assert.Equal([TimerChange.Start(GuardTracker.ReturnTimer, TimeSpan.FromSeconds(6))],
            GuardTracker.OnRestart(ejected, T0 + TimeSpan.FromSeconds(4), Passive).Timers.ToArray());
        // overdue: fires at once
        Assert.Equal([TimerChange.Start(GuardTracker.ReturnTimer, TimeSpan.Zero)],
            GuardTracker.OnRestart(ejected, T0 + TimeSpan.FromSeconds(40), Passive).Timers.ToArray());

        var open = Feed(Initial, OutcomeKind.GatewayStatus, 5, WithBreaker).State;
        var half = GuardTracker.OnBreakerTimer(open, T0 + TimeSpan.FromSeconds(1), WithBreaker).State;
        half = half with { Breaker = half.Breaker with { TrialSuccesses = 1 } };
        var step = GuardTracker.OnRestart(half, T0, WithBreaker);
        Assert.Equal(1, step.State.Trials!.Remaining);
        Assert.Equal([TimerChange.Start(GuardTracker.TrialTimer, Deadline)], step.Timers.ToArray());
    }
}
