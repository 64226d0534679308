using System.Collections.Immutable;
using Prox.Actors.Timing;

namespace Prox.Actors.Health;

/// <summary>
/// Active health-check rules: rise/fall thresholds (HAProxy's <c>rise</c>/<c>fall</c>, Envoy's
/// healthy/unhealthy thresholds), adaptive probe interval while down, jitter, flap detection and
/// history summaries. Pure: time comes from <see cref="ProbeResult.At"/> and randomness is a parameter,
/// so the backend actor keeps the state and the timer and tests need no clock or ActorSystem.
/// </summary>
public static class HealthPolicy
{
    /// <summary>
    /// Folds one judged probe into the state. Thresholds compare with <c>&gt;=</c> on consecutive counts,
    /// so the fall happens on exactly the <see cref="HealthConfig.UnhealthyAfter"/>-th failure and any ok
    /// in between starts the count again (and vice versa for the rise).
    /// </summary>
    /// <param name="ok">The verdict, normally <see cref="HealthExpect.IsOk"/> of <paramref name="r"/>.</param>
    public static (HealthState Next, HealthTransition Transition) OnProbe(
        HealthState s, ProbeResult r, bool ok, HealthConfig cfg)
    {
        int okCount = ok ? Increment(s.ConsecutiveOk) : 0;
        int failCount = ok ? 0 : Increment(s.ConsecutiveFailed);

        var transition = HealthTransition.None;
        bool healthy = s.Healthy;
        if (ok && !healthy && okCount >= cfg.HealthyAfter)
        {
            healthy = true;
            transition = HealthTransition.BecameHealthy;
        }
        else if (!ok && healthy && failCount >= cfg.UnhealthyAfter)
        {
            healthy = false;
            transition = HealthTransition.BecameUnhealthy;
        }

        var changes = transition == HealthTransition.None ? s.StateChanges : s.StateChanges.Add(r.At);
        changes = PruneChanges(changes, r.At, cfg);

        var next = s with
        {
            Healthy = healthy,
            ConsecutiveOk = okCount,
            ConsecutiveFailed = failCount,
            History = Append(s.History, new HealthCheck(r, ok), cfg.History),
            StateChanges = changes,
            Unstable = changes.Length > cfg.FlapThreshold,
        };
        return (next with { Interval = BaseInterval(next, cfg) }, transition);
    }

    /// <summary>
    /// Time until the next probe: <see cref="HealthConfig.Interval"/> while healthy; while unhealthy
    /// <see cref="HealthConfig.UnhealthyInterval"/> for the first probe after the fall, doubling with each
    /// further consecutive failure up to <see cref="HealthConfig.MaxUnhealthyInterval"/>, so a dead backend
    /// costs few probes yet a brief blip is re-checked quickly. Jitter is applied after the cap, so backends
    /// that went down together do not stay in lockstep at the cap.
    /// </summary>
    /// <param name="random01">A uniform value in [0,1]: 0 shortens by the full jitter, 0.5 leaves the
    /// interval as is, 1 lengthens by the full jitter. Out-of-range values are clamped.</param>
    public static TimeSpan NextInterval(HealthState s, HealthConfig cfg, double random01) =>
        Interval(s, cfg, Jitter.Around(cfg.Jitter), random01);

    /// <summary>Share of ok probes in the history, 0..100; 100 with no history, matching the healthy start.</summary>
    public static double UptimePercent(HealthState s)
    {
        if (s.History.IsDefaultOrEmpty) return 100;
        int ok = 0;
        foreach (var check in s.History)
            if (check.Ok) ok++;
        return ok * 100.0 / s.History.Length;
    }

    /// <summary>
    /// p50/p95/max probe latency over the history. Only probes that got a response count: a timeout's
    /// latency is just the configured timeout and a refused connection's is near zero, and either would
    /// distort what the figures are for (how fast the backend answers its health endpoint).
    /// </summary>
    public static LatencySummary SummarizeLatency(HealthState s)
    {
        if (s.History.IsDefaultOrEmpty) return default;
        var ms = s.History
            .Where(c => c.Result.Status > 0)
            .Select(c => c.Result.Latency.TotalMilliseconds)
            .Order()
            .ToArray();
        if (ms.Length == 0) return default;
        return new LatencySummary(ms.Length, NearestRank(ms, 0.50), NearestRank(ms, 0.95), ms[^1]);
    }

    private static TimeSpan BaseInterval(HealthState s, HealthConfig cfg) => Interval(s, cfg, Jitter.None, 0.5);

    private static TimeSpan Interval(HealthState s, HealthConfig cfg, Jitter jitter, double random01)
    {
        // healthy: a fixed interval (a cap equal to the first wait), only spread by the jitter
        if (s.Healthy) return Backoff.Delay(1, cfg.Interval, cfg.Interval, jitter, random01);
        // failures past the fall threshold; 0 right after the fall, or after an ok that did not yet rise
        int doublings = Math.Clamp(s.ConsecutiveFailed - cfg.UnhealthyAfter, 0, Backoff.MaxDoublings);
        return Backoff.Delay(doublings + 1, cfg.UnhealthyInterval, cfg.MaxUnhealthyInterval, jitter, random01);
    }

    private static ImmutableArray<HealthCheck> Append(ImmutableArray<HealthCheck> history, HealthCheck check, int max)
    {
        if (max <= 0) return ImmutableArray<HealthCheck>.Empty;
        if (history.IsDefault) history = ImmutableArray<HealthCheck>.Empty;
        // a reload may shrink max, so drop as many oldest entries as needed, not just one
        int excess = history.Length + 1 - max;
        if (excess <= 0) return history.Add(check);
        var builder = ImmutableArray.CreateBuilder<HealthCheck>(max);
        for (int i = excess; i < history.Length; i++) builder.Add(history[i]);
        builder.Add(check);
        return builder.MoveToImmutable();
    }

    /// <summary>Keeps changes strictly inside the window ending at <paramref name="now"/>, and only the
    /// newest threshold+1: more than that cannot change the "more than threshold" verdict.</summary>
    private static ImmutableArray<DateTimeOffset> PruneChanges(
        ImmutableArray<DateTimeOffset> changes, DateTimeOffset now, HealthConfig cfg)
    {
        if (changes.IsDefault) return ImmutableArray<DateTimeOffset>.Empty;
        int keepAtMost = Math.Max(0, cfg.FlapThreshold) + 1;
        int start = Math.Max(0, changes.Length - keepAtMost);
        while (start < changes.Length && now - changes[start] >= cfg.FlapWindow) start++;
        return start == 0 ? changes : changes[start..];
    }

    private static double NearestRank(double[] sorted, double q)
    {
        int rank = (int)Math.Ceiling(q * sorted.Length);
        return sorted[Math.Clamp(rank, 1, sorted.Length) - 1];
    }

    // saturate instead of wrapping: a backend down for centuries should not flip back to a count of 0
    private static int Increment(int n) => n == int.MaxValue ? n : n + 1;
}
