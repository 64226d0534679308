using System.Collections.Immutable;
using Prox.Actors.Breaker;
using Prox.Actors.Config;
using Prox.Actors.Events;
using Prox.Actors.Timing;

namespace Prox.Actors.Backends;

/// <summary>
/// A backend's guard against failing traffic: passive ejection, or the circuit breaker when one is configured, plus
/// the trial permits of the current half-open period (<see langword="null"/> otherwise). The permits are an object the
/// request path decrements; a new object starts a new set of trials, and trials of an older set no longer count.
/// </summary>
public readonly record struct GuardState(PassiveState Passive, BreakerState Breaker, HalfOpenPermits? Trials)
{
    /// <summary>Ejected or behind an open breaker: no traffic, whatever the health checks say.</summary>
    public bool Blocks => Passive.IsEjected || Breaker.Mode == BreakerMode.Open;

    /// <summary>While blocked for a known time: when the backend gets traffic again.</summary>
    public DateTimeOffset? BlockedUntil => Breaker.OpenUntil ?? Passive.EjectedUntil;
}

/// <summary>The guard's settings for one decision.</summary>
/// <param name="Breaker">Null: passive ejection guards the backend instead.</param>
/// <param name="TrialDeadline">How long a half-open trial may go unreported before fresh permits are handed out.</param>
public readonly record struct GuardSettings(PassiveConfig Passive, BreakerConfig? Breaker, TimeSpan TrialDeadline);

/// <summary>What one input changed: the new state, the events to publish (in order) and the timers to start or cancel.
/// State and step are structs because the actor folds every request outcome through the tracker: the common step
/// (a success, nothing changes) allocates nothing.</summary>
public readonly record struct GuardStep(GuardState State, ImmutableArray<EventToRaise> Events, ImmutableArray<TimerChange> Timers)
{
    /// <summary>A step that only (possibly) changes the state: no events, no timers.</summary>
    public static GuardStep Same(GuardState s) => new(s, [], []);
}

/// <summary>
/// The guard as a tracker: <see cref="PassiveEjection"/> and <see cref="CircuitBreaker"/> decide, this turns their
/// transitions into events and timers and keeps the trial permits in step with the breaker. Pure: time is a parameter.
/// The owning actor keeps the <see cref="GuardState"/>, maps the timer keys to its ticks and announces availability.
/// </summary>
public static class GuardTracker
{
    /// <summary>Timer keys in the owning actor: end of an ejection, end of an open period, a half-open trial's deadline.</summary>
    public const string ReturnTimer = "return", BreakerTimer = "breaker", TrialTimer = "trial-deadline";

    /// <summary>A new incarnation re-arms the timers its predecessor's state needs. Permits handed out by the previous
    /// incarnation are unknown, so a half-open breaker starts its remaining trials over.</summary>
    public static GuardStep OnRestart(GuardState s, DateTimeOffset now, GuardSettings cfg)
    {
        var timers = ImmutableArray.CreateBuilder<TimerChange>(2);
        if (s.Passive.EjectedUntil is { } back) timers.Add(TimerChange.Start(ReturnTimer, back - now));
        switch (s.Breaker.Mode)
        {
            case BreakerMode.Open:
                timers.Add(TimerChange.Start(BreakerTimer, s.Breaker.OpenUntil!.Value - now));
                break;
            case BreakerMode.HalfOpen when cfg.Breaker is not null:
                s = s with { Trials = new HalfOpenPermits(Math.Max(1, cfg.Breaker.HalfOpenTrials - s.Breaker.TrialSuccesses)) };
                timers.Add(TimerChange.Start(TrialTimer, cfg.TrialDeadline));
                break;
        }
        return new GuardStep(s, [], timers.ToImmutable());
    }

    /// <summary>Applies the outcome of one forwarded request.</summary>
    public static GuardStep OnOutcome(GuardState s, RequestOutcome o, DateTimeOffset now, GuardSettings cfg)
    {
        // a client that left says nothing about the backend (a trial it held is recovered by the trial deadline)
        if (o.Kind == OutcomeKind.ClientAbort) return GuardStep.Same(s);
        return cfg.Breaker is { } breaker ? BreakerOutcome(s, o, now, breaker, cfg) : PassiveOutcome(s, o, now, cfg.Passive);
    }

    /// <summary>
    /// Applies <paramref name="count"/> answered requests (not trials, not gateway failures) folded from the request
    /// path's tally: the failure streak ends, probation ends, and a closed breaker counts them in its window. No
    /// event and no timer: an answer never ejects, opens or closes anything.
    /// </summary>
    public static GuardStep OnAnswered(GuardState s, long count, DateTimeOffset now, GuardSettings cfg)
    {
        if (count <= 0) return GuardStep.Same(s);
        return GuardStep.Same(cfg.Breaker is { } breaker
            ? s with { Breaker = CircuitBreaker.OnAnswered(s.Breaker, (int)Math.Min(count, int.MaxValue), now, breaker) }
            : s with { Passive = PassiveEjection.OnSuccess(s.Passive) });
    }

    /// <summary>The ejection timer fired: the backend returns on probation, or the timer fired a tick early.</summary>
    public static GuardStep OnReturnTimer(GuardState s, DateTimeOffset now)
    {
        var passive = PassiveEjection.OnTimer(s.Passive, now);
        if (s.Passive.IsEjected && !passive.IsEjected)
            return new GuardStep(s with { Passive = passive },
                [new(ProxEventKinds.BackendReturned, "ejection time over; back in rotation on probation")], []);
        // the scheduler fired early by a tick: wait out the rest
        return passive.EjectedUntil is { } until
            ? new GuardStep(s with { Passive = passive }, [], [TimerChange.Start(ReturnTimer, until - now)])
            : GuardStep.Same(s with { Passive = passive });
    }

    /// <summary>The breaker's open time is over: half-open, or wait out the rest if the timer fired a tick early.</summary>
    public static GuardStep OnBreakerTimer(GuardState s, DateTimeOffset now, GuardSettings cfg)
    {
        if (cfg.Breaker is null) return GuardStep.Same(s);
        var after = CircuitBreaker.OnTimer(s.Breaker, now, cfg.Breaker);
        if (after.Mode == BreakerMode.Open && after.OpenUntil is { } until)
            return new GuardStep(s with { Breaker = after }, [], [TimerChange.Start(BreakerTimer, until - now)]);
        return Changed(s, after, "open time over", now, cfg, []);
    }

    /// <summary>
    /// A trial deadline passed. If every permit of <paramref name="expired"/> was handed out but none reported (its
    /// client left), fresh permits replace them. A trial that reached the backend always reports, as success, failure
    /// or timeout, within the attempt timeout.
    /// </summary>
    public static GuardStep OnTrialDeadline(GuardState s, HalfOpenPermits expired, GuardSettings cfg)
    {
        if (cfg.Breaker is null || s.Breaker.Mode != BreakerMode.HalfOpen || !ReferenceEquals(expired, s.Trials))
            return GuardStep.Same(s);
        if (expired.Remaining == 0)
            s = s with { Trials = new HalfOpenPermits(cfg.Breaker.HalfOpenTrials - s.Breaker.TrialSuccesses) };
        return new GuardStep(s, [], [TimerChange.Start(TrialTimer, cfg.TrialDeadline)]);
    }

    /// <summary>
    /// An active health check finished. A pass ends an ejection early, on probation, once the checks call the backend
    /// healthy; the breaker takes the check as <see cref="CircuitBreaker.OnHealthCheck"/> says.
    /// </summary>
    /// <param name="healthy">The health checks' verdict after this check.</param>
    /// <param name="what">The check's result in words, for the breaker's reason.</param>
    public static GuardStep OnHealthCheck(GuardState s, bool ok, bool healthy, string what, DateTimeOffset now, GuardSettings cfg)
    {
        var events = new List<EventToRaise>(2);
        var timers = new List<TimerChange>(3);
        if (ok && healthy && s.Passive.IsEjected)
        {
            s = s with { Passive = PassiveEjection.OnHealthCheckPassed(s.Passive, now) };
            timers.Add(TimerChange.Cancel(ReturnTimer));
            events.Add(new(ProxEventKinds.BackendReturned, "a health check passed; back in rotation on probation"));
        }
        if (cfg.Breaker is null) return new GuardStep(s, [.. events], [.. timers]);
        var after = CircuitBreaker.OnHealthCheck(s.Breaker, ok, now, cfg.Breaker);
        var step = Changed(s, after, ok ? "a health check passed" : $"a health check failed ({what})", now, cfg, events);
        return step with { Timers = [.. timers, .. step.Timers] };
    }

    private static GuardStep PassiveOutcome(GuardState s, RequestOutcome o, DateTimeOffset now, PassiveConfig cfg)
    {
        var wasEjected = s.Passive.IsEjected;
        var passive = o.IsBackendFailure ? PassiveEjection.OnFailure(s.Passive, now, cfg) : PassiveEjection.OnSuccess(s.Passive);
        s = s with { Passive = passive };
        if (wasEjected || passive.EjectedUntil is not { } until) return GuardStep.Same(s);
        // the backend's own event first: the route's pool-down, which follows from it, must come after
        return new GuardStep(s,
            [new(ProxEventKinds.BackendEjected,
                $"{passive.ConsecutiveFailures} consecutive failures (last: {o.Kind}); ejected until {until:O} (ejection {passive.Ejections})")],
            [TimerChange.Start(ReturnTimer, until - now)]);
    }

    private static GuardStep BreakerOutcome(GuardState s, RequestOutcome o, DateTimeOffset now, BreakerConfig breaker, GuardSettings cfg)
    {
        var before = s.Breaker;
        // while half-open only this period's trials count: anything else was admitted before the breaker opened
        if (before.Mode == BreakerMode.HalfOpen && (o.Trial is null || !ReferenceEquals(o.Trial, s.Trials))) return GuardStep.Same(s);
        var after = CircuitBreaker.OnResult(before, !o.IsBackendFailure, now, breaker);
        // the reason is words for an event: only built when the mode changes
        if (before.Mode == after.Mode && before.Openings == after.Openings) return GuardStep.Same(s with { Breaker = after });
        var why = before.Mode == BreakerMode.HalfOpen
            ? $"trial request {(o.IsBackendFailure ? "failed" : "succeeded")} ({o.Kind})"
            : before.ConsecutiveFailures + 1 >= breaker.ConsecutiveFailures && breaker.ConsecutiveFailures > 0
                ? $"{before.ConsecutiveFailures + 1} consecutive failures (last: {o.Kind})"
                : RateReason(before, now, breaker);
        return Changed(s, after, why, now, cfg, []);
    }

    private static string RateReason(BreakerState before, DateTimeOffset now, BreakerConfig cfg)
    {
        var (total, failed) = before.Window.Record(false, now, cfg).Counts(now);
        return $"{failed} of {total} requests failed within {cfg.Window.TotalSeconds:0.#} s (threshold {cfg.FailureRateThreshold:P0})";
    }

    /// <summary>Takes the breaker's new state; a new mode (or a new opening) brings its event, timers and permits.</summary>
    private static GuardStep Changed(GuardState s, BreakerState after, string why, DateTimeOffset now, GuardSettings cfg,
        IEnumerable<EventToRaise> earlier)
    {
        var before = s.Breaker;
        s = s with { Breaker = after };
        if (before.Mode == after.Mode && before.Openings == after.Openings) return new GuardStep(s, [.. earlier], []);
        switch (after.Mode)
        {
            case BreakerMode.Open:
                var until = after.OpenUntil!.Value;
                return new GuardStep(s with { Trials = null },
                    [.. earlier, new(ProxEventKinds.BreakerOpened, $"{why}; open for {(until - now).TotalSeconds:0.###} s (opening {after.Openings})")],
                    [TimerChange.Cancel(TrialTimer), TimerChange.Start(BreakerTimer, until - now)]);
            case BreakerMode.HalfOpen:
                var trials = cfg.Breaker!.HalfOpenTrials;
                return new GuardStep(s with { Trials = new HalfOpenPermits(trials) },
                    [.. earlier, new(ProxEventKinds.BreakerHalfOpen, $"{why}; admitting {trials} trial request(s)")],
                    [TimerChange.Cancel(BreakerTimer), TimerChange.Start(TrialTimer, cfg.TrialDeadline)]);
            default:
                return new GuardStep(s with { Trials = null }, [.. earlier, new(ProxEventKinds.BreakerClosed, why)],
                    [TimerChange.Cancel(TrialTimer)]);
        }
    }
}
