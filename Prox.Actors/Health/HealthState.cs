using System.Collections.Immutable;

namespace Prox.Actors.Health;

/// <summary>One probe in a backend's history, with the verdict it got.</summary>
/// <param name="Result">What the probe observed.</param>
/// <param name="Ok">Whether <see cref="HealthExpect.IsOk"/> accepted it.</param>
public sealed record HealthCheck(ProbeResult Result, bool Ok);

/// <summary>What a probe did to a backend's health, for the actor to publish and log.</summary>
public enum HealthTransition
{
    /// <summary>No change of <see cref="HealthState.Healthy"/>.</summary>
    None,

    /// <summary>Rise: <see cref="HealthConfig.HealthyAfter"/> consecutive oks while unhealthy.</summary>
    BecameHealthy,

    /// <summary>Fall: <see cref="HealthConfig.UnhealthyAfter"/> consecutive failures while healthy.</summary>
    BecameUnhealthy,
}

/// <summary>
/// Where one backend stands on active health checks. Immutable: <see cref="HealthPolicy.OnProbe"/>
/// returns a new one, and the owning actor may hand it to a snapshot without copying.
/// </summary>
/// <remarks>
/// A new backend starts <b>healthy</b>. Proxies disagree here: HAProxy starts servers up (but rise-1
/// failures from down), Envoy's active checker holds new hosts out until the first check passes unless
/// told otherwise, nginx Plus can require a check with <c>mandatory</c>. We choose "healthy until proven
/// otherwise" because a proxy restart or config reload that marked every backend down until probes ran
/// would blackhole all traffic for an interval; passive ejection covers a backend that really is dead.
/// </remarks>
/// <param name="Healthy">Whether the backend takes traffic as far as active checks are concerned.</param>
/// <param name="ConsecutiveOk">Ok probes since the last failure.</param>
/// <param name="ConsecutiveFailed">Failed probes since the last ok; drives the unhealthy backoff.</param>
/// <param name="Interval">Un-jittered time until the next probe, as of the last probe (for status pages).</param>
/// <param name="History">Last <see cref="HealthConfig.History"/> probes, oldest first.</param>
/// <param name="StateChanges">Times of recent transitions inside <see cref="HealthConfig.FlapWindow"/>,
/// oldest first; at most <see cref="HealthConfig.FlapThreshold"/> + 1, enough to decide flapping.</param>
/// <param name="Unstable">More than <see cref="HealthConfig.FlapThreshold"/> transitions in the flap window.</param>
public sealed record HealthState(
    bool Healthy,
    int ConsecutiveOk,
    int ConsecutiveFailed,
    TimeSpan Interval,
    ImmutableArray<HealthCheck> History,
    ImmutableArray<DateTimeOffset> StateChanges,
    bool Unstable)
{
    /// <summary>A backend no probe has seen yet: healthy (see remarks), probed at the healthy interval.</summary>
    public static HealthState Initial(HealthConfig cfg) =>
        new(Healthy: true, ConsecutiveOk: 0, ConsecutiveFailed: 0, cfg.Interval,
            ImmutableArray<HealthCheck>.Empty, ImmutableArray<DateTimeOffset>.Empty, Unstable: false);
}

/// <summary>Probe latency over a backend's history, in milliseconds.</summary>
/// <param name="Count">Probes the figures cover (those that got a response); all figures are 0 when 0.</param>
/// <param name="P50Ms">Median, nearest-rank.</param>
/// <param name="P95Ms">95th percentile, nearest-rank.</param>
/// <param name="MaxMs">Slowest.</param>
public readonly record struct LatencySummary(int Count, double P50Ms, double P95Ms, double MaxMs);
