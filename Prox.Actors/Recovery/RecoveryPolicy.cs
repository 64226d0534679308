using System.Globalization;
using Prox.Actors.Events;
using Prox.Actors.Timing;

namespace Prox.Actors.Recovery;

/// <summary>
/// When to run a backend's recovery action and how to judge each attempt. Pure: time and randomness are
/// parameters and every function returns a new <see cref="RecoveryState"/>, so the actor only keeps the
/// state, arms one timer at <see cref="RecoveryState.NextAttemptAt"/> and runs the action when told.
/// </summary>
/// <remarks>
/// An outage starts when the backend becomes unavailable. When it has lasted <see cref="RecoveryConfig.After"/>
/// the first attempt runs; while the backend stays down, attempt n+1 follows attempt n after
/// <see cref="RecoveryConfig.EffectiveBackoff"/> × 2^(n-1), capped at <see cref="RecoveryConfig.MaxBackoff"/>,
/// ±10% jitter. An attempt is a success when the backend is available again before the next attempt is due
/// (and its action did not fail); a failure when its action failed or the backend is still down when the
/// next attempt is due. Each attempt gets exactly one verdict, so the success rate counts attempts, not outages.
/// </remarks>
public static class RecoveryPolicy
{
    /// <summary>The key of the recovery timer in the owning actor (<see cref="Timer"/>).</summary>
    public const string TimerKey = "recovery";

    /// <summary>A new incarnation of the owning actor picks up its predecessor's recovery: an action that was running
    /// when the old one crashed is judged failed (its result went to the dead incarnation).</summary>
    public static RecoveryStep OnRestart(RecoveryState s, DateTimeOffset now, RecoveryConfig cfg) =>
        s.Pending is { Running: true } p
            ? OnActionResult(s, p.Number,
                new RecoveryActionResult(false, "the backend's actor restarted while the action ran; its result is unknown", TimeSpan.Zero),
                now, cfg)
            : RecoveryStep.Same(s);

    /// <summary>The timer always mirrors the state: armed for the next due attempt (at least 1 ms ahead, so an overdue
    /// one fires on the next tick), cancelled while the backend is up or an action runs.</summary>
    public static TimerChange Timer(RecoveryState s, DateTimeOffset now) =>
        s.NextAttemptAt is { } due && s.Pending is not { Running: true }
            ? TimerChange.Start(TimerKey, due - now > MinTimer ? due - now : MinTimer)
            : TimerChange.Cancel(TimerKey);

    private static readonly TimeSpan MinTimer = TimeSpan.FromMilliseconds(1);

    /// <summary>The backend's availability as the actor announces it (repeated values are no-ops).</summary>
    public static RecoveryStep OnAvailability(RecoveryState s, bool available, DateTimeOffset now, RecoveryConfig cfg)
    {
        if (available == !s.Down) return RecoveryStep.Same(s);

        if (!available)
        {
            // down again while an attempt of the open outage still runs: the same outage continues
            if (s.DownSince is not null)
                return RecoveryStep.Same(s with { Down = true, BackAt = null });
            return RecoveryStep.Same(s with
            {
                Down = true,
                DownSince = now,
                BackAt = null,
                NextAttemptAt = now + cfg.After,
                OutageAttempts = 0,
            });
        }

        switch (s.Pending)
        {
            case { Running: true }:
                // the verdict waits for the action's result
                return RecoveryStep.Same(s with { Down = false, BackAt = now });
            case { Running: false } p:
                var won = Close(s with { Successes = s.Successes + 1 });
                return new RecoveryStep(won, false, [Succeeded(s, p, now)]);
            default:
                // back on its own (before `after`, or after a failed attempt): nothing to judge
                return RecoveryStep.Same(Close(s));
        }
    }

    /// <summary>The recovery timer fired. Starts the next attempt when one is due, judging a pending one as failed first.</summary>
    /// <param name="random01">Uniform in [0,1] for the backoff jitter (0.5 = none).</param>
    public static RecoveryStep OnTimer(RecoveryState s, DateTimeOffset now, RecoveryConfig cfg, double random01)
    {
        // early (the scheduler's tick), stale, up, or the action still runs: the actor re-arms from the state
        if (!s.Down || s.NextAttemptAt is not { } due || now < due || s.Pending is { Running: true })
            return RecoveryStep.Same(s);

        var events = new List<EventToRaise>(1);
        if (s.Pending is { } p)
        {
            s = s with { Failures = s.Failures + 1, Pending = null };
            events.Add(new EventToRaise(ProxEventKinds.RecoveryFailed,
                $"attempt {p.Number}: backend still down when the next attempt was due ({Seconds(now - p.StartedAt)} after it)"));
        }

        var number = s.OutageAttempts + 1;
        var next = s with
        {
            Attempts = s.Attempts + 1,
            OutageAttempts = number,
            Pending = new PendingAttempt(number, now, Running: true),
            NextAttemptAt = now + NextDelay(number, cfg, random01),
        };
        return new RecoveryStep(next, true, [.. events]);
    }

    /// <summary>The running action finished. Publishes <c>recovery-attempted</c>, and its verdict when it already has one.</summary>
    /// <param name="number">The attempt the result belongs to; a result for any other attempt is ignored.</param>
    public static RecoveryStep OnActionResult(RecoveryState s, int number, RecoveryActionResult r, DateTimeOffset now, RecoveryConfig cfg)
    {
        if (s.Pending is not { Running: true } p || p.Number != number) return RecoveryStep.Same(s);

        var finished = new FinishedAttempt(p.Number, p.StartedAt, r.Ok, r.Detail);
        var attempted = new EventToRaise(ProxEventKinds.RecoveryAttempted,
            $"{cfg.Describe()}: attempt {p.Number}: {(r.Ok ? "action ok" : "action failed")} in {Seconds(r.Duration)}: {r.Detail}");
        s = s with { LastAttempt = finished };

        if (!r.Ok)
        {
            var lost = s with { Failures = s.Failures + 1, Pending = null };
            // the backend may have come back by itself meanwhile; then the outage is over
            if (!lost.Down) lost = Close(lost);
            return new RecoveryStep(lost, false, [attempted, new EventToRaise(ProxEventKinds.RecoveryFailed,
                $"attempt {p.Number}: action failed: {r.Detail}")]);
        }
        if (!s.Down)
        {
            var won = Close(s with { Successes = s.Successes + 1 });
            return new RecoveryStep(won, false, [attempted, Succeeded(s, p, s.BackAt ?? now)]);
        }
        return new RecoveryStep(s with { Pending = p with { Running = false } }, false, [attempted]);
    }

    /// <summary>
    /// Time from attempt <paramref name="attempt"/> (1-based) to the next: the backoff doubled per earlier attempt
    /// of the outage, capped, then jittered by ±<see cref="RecoveryConfig.Jitter"/> (after the cap, so backends
    /// that went down together do not stay in lockstep at it).
    /// </summary>
    /// <param name="random01">0 shortens by the full jitter, 0.5 leaves the delay as is, 1 lengthens; clamped.</param>
    public static TimeSpan NextDelay(int attempt, RecoveryConfig cfg, double random01) =>
        Backoff.Delay(Math.Max(1, attempt), cfg.EffectiveBackoff, cfg.MaxBackoff, Jitter.Around(RecoveryConfig.Jitter), random01);

    private static EventToRaise Succeeded(RecoveryState s, PendingAttempt p, DateTimeOffset back) =>
        new(ProxEventKinds.RecoverySucceeded,
            $"backend available again after {p.Number} attempt{(p.Number == 1 ? "" : "s")}; down for {Seconds(back - (s.DownSince ?? back))}");

    /// <summary>Ends the open outage; lifetime counters and the last attempt stay.</summary>
    private static RecoveryState Close(RecoveryState s) => s with
    {
        Down = false,
        DownSince = null,
        BackAt = null,
        NextAttemptAt = null,
        OutageAttempts = 0,
        Pending = null,
    };

    private static string Seconds(TimeSpan t) =>
        t.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture) + " s";
}
