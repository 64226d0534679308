using Prox.Actors.Breaker;
using Prox.Actors.Config;
using Prox.Actors.Health;
using Prox.Actors.Recovery;

namespace Prox.Actors.Backends;

/// <summary>How <c>/status</c> shows a backend: a pure view of the state its actor keeps.</summary>
public static class BackendStatusView
{
    /// <param name="available">As the actor announces it to its route.</param>
    /// <param name="guardCfg">Its breaker, or passive ejection when it has none.</param>
    /// <param name="recovery">Null when the backend has no recovery action.</param>
    public static BackendStatus Of(BackendMemory m, GuardState guard, bool available, GuardSettings guardCfg,
        RecoveryConfig? recovery, DateTimeOffset now)
    {
        var live = m.Live;
        return new BackendStatus(
            live.Id,
            live.Config.Url.ToString(),
            live.Config.Weight,
            Healthy: available,
            State: m.Health is { Healthy: false } ? "down"
                : guard.Breaker.Mode == BreakerMode.Open ? "open"
                : guard.Breaker.Mode == BreakerMode.HalfOpen ? "half-open"
                : guard.Passive.IsEjected ? "ejected" : "up",
            guard.Passive.EjectedUntil,
            live.InFlight,
            m.Requests,
            m.Failures,
            guard.Passive.ConsecutiveFailures,
            guard.Passive.Ejections,
            new LatencySummary(
                Round(m.Latency.Percentile(0.50)), Round(m.Latency.Percentile(0.95)),
                Round(m.Latency.Percentile(0.99)), Round(m.Latency.EwmaMs)))
        {
            WebSockets = live.WebSockets,
            Health = m.Health is null ? null : Health(m.Health, m.LastProbe),
            Breaker = guardCfg.Breaker is { } breaker ? Breaker(guard, breaker, now) : Passive(guard.Passive, guardCfg.Passive, now),
            Recovery = recovery is null ? null : Recovery(m.Recovery, recovery),
        };
    }

    private static BackendBreakerStatus Breaker(GuardState guard, BreakerConfig cfg, DateTimeOffset now)
    {
        var b = guard.Breaker;
        var (total, failed) = b.Window.Counts(now);
        return new BackendBreakerStatus(
            b.Mode switch { BreakerMode.Open => "open", BreakerMode.HalfOpen => "half-open", _ => "closed" }, "breaker",
            b.ConsecutiveFailures, b.Openings, b.OpenUntil, guard.Trials?.Remaining ?? 0, total, failed)
        {
            RemainingSeconds = Remaining(b.OpenUntil, now),
            FailuresToOpen = cfg.ConsecutiveFailures > 0 ? cfg.ConsecutiveFailures : null,
        };
    }

    /// <summary>Passive ejection in breaker terms, as Envoy's outlier detection would show it: ejected is open, the
    /// probation after an ejection (one failure ejects again) is half-open.</summary>
    private static BackendBreakerStatus Passive(PassiveState p, PassiveConfig cfg, DateTimeOffset now) =>
        new(p.IsEjected ? "open" : p.Probation ? "half-open" : "closed", "passive",
            p.ConsecutiveFailures, p.Ejections, p.EjectedUntil, null, null, null)
        {
            RemainingSeconds = Remaining(p.EjectedUntil, now),
            FailuresToOpen = cfg.FailuresToEject,
        };

    /// <summary>The guard as far as its availability tells (cluster mode, while the owner does not answer): no counts.</summary>
    /// <param name="blocked">Unavailable because of the guard alone.</param>
    /// <param name="trials">Half-open: trial permits are handed out.</param>
    public static BackendBreakerStatus Guard(bool blocked, bool trials, DateTimeOffset? until, bool passive, DateTimeOffset now) =>
        new(blocked ? "open" : trials ? "half-open" : "closed", passive ? "passive" : "breaker", 0, 0, blocked ? until : null,
            null, null, null) { RemainingSeconds = blocked ? Remaining(until, now) : null };

    private static double? Remaining(DateTimeOffset? until, DateTimeOffset now) =>
        until is { } u ? Math.Round(Math.Max(0, (u - now).TotalSeconds), 3) : null;

    private static BackendHealthStatus Health(HealthState h, ProbeResult? last)
    {
        var lat = HealthPolicy.SummarizeLatency(h);
        return new BackendHealthStatus(
            h.Healthy, h.Unstable, h.ConsecutiveOk, h.ConsecutiveFailed,
            Math.Round(HealthPolicy.UptimePercent(h), 2), h.History.Length,
            last is { } p ? new LastCheck(p.At, p.Status, Round(p.Latency.TotalMilliseconds), p.Error) : null,
            new CheckLatency(Round(lat.P50Ms), Round(lat.P95Ms), Round(lat.MaxMs)));
    }

    private static BackendRecoveryStatus Recovery(RecoveryState r, RecoveryConfig cfg) =>
        new(cfg.Describe(), r.Attempts, r.Successes, r.Failures,
            r.SuccessRate is { } rate ? Math.Round(rate, 4) : null, r.DownSince, r.NextAttemptAt,
            r.LastAttempt is { } a ? new LastRecoveryAttempt(a.At, a.Number, a.ActionOk, a.Detail) : null);

    private static double Round(double ms) => Math.Round(ms, 3);
}
