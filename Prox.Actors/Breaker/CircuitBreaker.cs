using Prox.Actors.Timing;

namespace Prox.Actors.Breaker;

/// <summary>
/// The circuit-breaker rules as pure functions of state, input and time, so they can be tested with tables and
/// no ActorSystem; the owning actor keeps the <see cref="BreakerState"/>, runs the timer and publishes the mode.
/// </summary>
/// <remarks>
/// Closed opens after <see cref="BreakerConfig.ConsecutiveFailures"/> failures in a row, or when failures are at
/// least <see cref="BreakerConfig.FailureRateThreshold"/> of at least <see cref="BreakerConfig.MinimumRequests"/>
/// results in <see cref="BreakerConfig.Window"/>. Open lasts <see cref="OpenTime"/> and then goes half-open; if
/// every trial succeeds it closes and forgets its history, and any failed trial reopens it for twice as long.
/// </remarks>
public static class CircuitBreaker
{
    /// <summary>Applies the outcome of one forwarded request.</summary>
    public static BreakerState OnResult(BreakerState s, bool ok, DateTimeOffset now, BreakerConfig cfg) =>
        s.Mode switch
        {
            // late answers to requests sent before it opened say nothing about the backend now
            BreakerMode.Open => s,
            BreakerMode.HalfOpen => ok ? TrialSucceeded(s, cfg) : Open(s, now, cfg),
            _ => ClosedResult(s, ok, now, cfg),
        };

    /// <summary>
    /// Applies <paramref name="count"/> answered requests that were not trials (folded from the request path's tally):
    /// while closed they end the failure streak and count in the window; open or half-open, they were admitted before
    /// it opened and say nothing about the backend now.
    /// </summary>
    public static BreakerState OnAnswered(BreakerState s, int count, DateTimeOffset now, BreakerConfig cfg) =>
        s.Mode != BreakerMode.Closed || count <= 0
            ? s
            : s with { ConsecutiveFailures = 0, Window = s.Window.Record(count, 0, now, cfg) };

    /// <summary>Moves an open breaker to half-open once <see cref="BreakerState.OpenUntil"/> has passed.</summary>
    public static BreakerState OnTimer(BreakerState s, DateTimeOffset now, BreakerConfig cfg) =>
        s.Mode == BreakerMode.Open && s.OpenUntil is { } until && until <= now ? HalfOpen(s) : s;

    /// <summary>
    /// Lets active health checks speed recovery without bypassing the trials: a passing check while open moves
    /// to half-open (never straight to closed, because the health endpoint may pass while real requests fail);
    /// a failing check while half-open reopens. Otherwise health checks leave the breaker alone: they are not
    /// traffic, and counting them would skew the failure rate.
    /// </summary>
    public static BreakerState OnHealthCheck(BreakerState s, bool ok, DateTimeOffset now, BreakerConfig cfg) =>
        (s.Mode, ok) switch
        {
            (BreakerMode.Open, true) => HalfOpen(s),
            (BreakerMode.HalfOpen, false) => Open(s, now, cfg),
            _ => s,
        };

    /// <summary><c>OpenFor × 2^(openings-1)</c>, capped at <c>MaxOpen</c>: 1s, 2s, 4s, 8s … with the defaults.</summary>
    public static TimeSpan OpenTime(int openings, BreakerConfig cfg) =>
        // no jitter: the open time is shown in events and Retry-After, and one breaker per backend has no herd to spread
        Backoff.Delay(Math.Max(1, openings), cfg.OpenFor, cfg.MaxOpen, Jitter.None);

    private static BreakerState ClosedResult(BreakerState s, bool ok, DateTimeOffset now, BreakerConfig cfg)
    {
        var window = s.Window.Record(ok, now, cfg);
        if (ok) return s with { ConsecutiveFailures = 0, Window = window };

        var failures = s.ConsecutiveFailures + 1;
        if (cfg.ConsecutiveFailures > 0 && failures >= cfg.ConsecutiveFailures) return Open(s, now, cfg);

        // only a failure can raise the rate, so only a failure trips on it
        var (total, failed) = window.Counts(now);
        if (total >= cfg.MinimumRequests && total > 0 && (double)failed / total >= cfg.FailureRateThreshold)
            return Open(s, now, cfg);

        return s with { ConsecutiveFailures = failures, Window = window };
    }

    private static BreakerState TrialSucceeded(BreakerState s, BreakerConfig cfg)
    {
        var successes = s.TrialSuccesses + 1;
        return successes >= cfg.HalfOpenTrials
            ? BreakerState.Initial // recovered: the next opening starts again at OpenFor
            : s with { TrialSuccesses = successes };
    }

    private static BreakerState Open(BreakerState s, DateTimeOffset now, BreakerConfig cfg)
    {
        var openings = s.Openings == int.MaxValue ? s.Openings : s.Openings + 1;
        // history from before the opening must not re-trip the breaker when it closes again
        return new BreakerState(BreakerMode.Open, 0, openings, now + OpenTime(openings, cfg), 0, FailureWindow.Empty);
    }

    private static BreakerState HalfOpen(BreakerState s) =>
        s with { Mode = BreakerMode.HalfOpen, OpenUntil = null, TrialSuccesses = 0 };
}
