using System.Collections.Immutable;
using Prox.Actors.Events;
using Prox.Actors.Timing;

namespace Prox.Actors.Health;

/// <summary>What one probe changed: the new state, its verdict, the events to publish (in order) and the next probe's timer.</summary>
/// <param name="Ok">The probe's verdict (<see cref="HealthExpect.IsOk"/>); passive ejection and the breaker use it too.</param>
/// <param name="What">The probe's result in words ("status 503", or the error), for the reasons of other trackers.</param>
public sealed record HealthStep(HealthState State, bool Ok, string What, ImmutableArray<EventToRaise> Events, TimerChange NextProbe);

/// <summary>
/// The active health checks of one backend as a tracker: <see cref="HealthPolicy"/> decides, this turns its verdicts
/// into the events and timer its actor applies. Pure: time is in the probe result, randomness a parameter.
/// </summary>
public static class HealthTracker
{
    /// <summary>The key of the probe timer in the owning actor.</summary>
    public const string ProbeTimer = "probe";

    /// <summary>The first probe of an incarnation goes out at once (1 ms: a timer, so it runs after the actor started).</summary>
    public static readonly TimerChange FirstProbe = TimerChange.Start(ProbeTimer, TimeSpan.FromMilliseconds(1));

    /// <summary>Judges one probe outcome and folds it into the state.</summary>
    /// <param name="random01">Uniform in [0,1] for the interval's jitter (0.5 = none).</param>
    public static HealthStep OnProbe(HealthState s, ProbeOutcome outcome, HealthConfig cfg, double random01)
    {
        var r = outcome.Result;
        var ok = HealthExpect.IsOk(r, outcome.BodyPrefix, cfg);
        var (next, transition) = HealthPolicy.OnProbe(s, r, ok, cfg);
        var what = r.Error ?? $"status {r.Status}";

        var events = ImmutableArray.CreateBuilder<EventToRaise>(2);
        switch (transition)
        {
            case HealthTransition.BecameUnhealthy:
                events.Add(new(ProxEventKinds.BackendDown, $"{next.ConsecutiveFailed} failed health checks in a row (last: {what})"));
                break;
            case HealthTransition.BecameHealthy:
                events.Add(new(ProxEventKinds.BackendUp, $"{next.ConsecutiveOk} passed health checks in a row"));
                break;
        }
        if (!s.Unstable && next.Unstable)
            events.Add(new(ProxEventKinds.BackendUnstable,
                $"changed state more than {cfg.FlapThreshold} times within {cfg.FlapWindow.TotalSeconds:0} s"));

        var interval = HealthPolicy.NextInterval(next, cfg, random01);
        return new HealthStep(next, ok, what, events.ToImmutable(), TimerChange.Start(ProbeTimer, interval));
    }
}
