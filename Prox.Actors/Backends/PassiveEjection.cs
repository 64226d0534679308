using Prox.Actors.Config;
using Prox.Actors.Timing;

namespace Prox.Actors.Backends;

/// <summary>Where a backend stands on passive (traffic-observed) health.</summary>
/// <param name="ConsecutiveFailures">Failures since the last success.</param>
/// <param name="Ejections">Ejections in the current streak; sets the next ejection time (doubling).</param>
/// <param name="EjectedUntil">Set while ejected: when the backend gets traffic again.</param>
/// <param name="Probation">True after an ejection ends until the first success: one failure re-ejects.</param>
/// <param name="LastReturn">When the last ejection ended; a backend up for <c>max-eject-for</c> starts a new streak.</param>
public sealed record PassiveState(
    int ConsecutiveFailures,
    int Ejections,
    DateTimeOffset? EjectedUntil,
    bool Probation,
    DateTimeOffset? LastReturn)
{
    public static readonly PassiveState Initial = new(0, 0, null, false, null);

    public bool IsEjected => EjectedUntil is not null;
}

/// <summary>
/// Passive outlier ejection, as nginx's <c>max_fails</c>/<c>fail_timeout</c> and Envoy's consecutive-5xx
/// detection: N consecutive failures eject a backend for a time that doubles on each repeat, capped;
/// after the time it returns on probation, where a single failure ejects it again.
/// </summary>
public static class PassiveEjection
{
    public static PassiveState OnSuccess(PassiveState s) =>
        s.IsEjected || (s.ConsecutiveFailures == 0 && !s.Probation)
            ? s // late outcomes of requests sent before an ejection do not end it; the timer does
            : s with { ConsecutiveFailures = 0, Probation = false };

    public static PassiveState OnFailure(PassiveState s, DateTimeOffset now, PassiveConfig cfg)
    {
        if (s.IsEjected) return s;
        var failures = s.ConsecutiveFailures + 1;
        if (!s.Probation && failures < cfg.FailuresToEject)
            return s with { ConsecutiveFailures = failures };

        // a backend that stayed up for the longest ejection time has earned a fresh streak
        var freshStreak = s.LastReturn is { } back && now - back >= cfg.MaxEjectFor;
        var ejections = freshStreak ? 1 : s.Ejections + 1;
        return s with
        {
            ConsecutiveFailures = failures,
            Ejections = ejections,
            EjectedUntil = now + EjectionTime(ejections, cfg),
            Probation = false,
        };
    }

    /// <summary>Ends the ejection if its time has come; otherwise returns <paramref name="s"/> unchanged.</summary>
    public static PassiveState OnTimer(PassiveState s, DateTimeOffset now) =>
        s.EjectedUntil is { } until && until <= now
            ? s with { EjectedUntil = null, Probation = true, ConsecutiveFailures = 0, LastReturn = now }
            : s;

    /// <summary>
    /// A passing active health check ends an ejection early, on probation (Envoy's
    /// <c>successful_active_health_check_uneject_host</c>): the backend answers again, and probation re-ejects it,
    /// for twice as long, at its first request failure if the health endpoint passes while real traffic fails.
    /// </summary>
    public static PassiveState OnHealthCheckPassed(PassiveState s, DateTimeOffset now) =>
        s.IsEjected ? s with { EjectedUntil = null, Probation = true, ConsecutiveFailures = 0, LastReturn = now } : s;

    /// <summary><c>eject-for × 2^(n-1)</c>, capped at <c>max-eject-for</c>.</summary>
    public static TimeSpan EjectionTime(int ejections, PassiveConfig cfg) =>
        Backoff.Delay(Math.Max(1, ejections), cfg.EjectFor, cfg.MaxEjectFor, Jitter.None);
}
