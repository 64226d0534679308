namespace Prox.Actors.Breaker;

/// <summary>
/// Tuning for a route's circuit breaker. The breaker exists to stop sending traffic to a backend
/// that is failing, give it time to recover, and probe it cautiously before trusting it again.
/// </summary>
/// <param name="ConsecutiveFailures">Failures in a row that open the breaker; catches a hard-down backend fast,
/// before the rate rule has enough samples. Zero or less disables this rule.</param>
/// <param name="FailureRateThreshold">Share of failures (0..1) over <paramref name="Window"/> that opens the breaker;
/// catches a backend that fails often but not in an unbroken run.</param>
/// <param name="Window">Sliding window the failure rate is measured over.</param>
/// <param name="MinimumRequests">Results the window must hold before the rate may trip, so that two failures
/// out of three requests on a quiet route do not open it.</param>
/// <param name="OpenFor">How long the first opening lasts; each further opening in a streak doubles it.</param>
/// <param name="MaxOpen">Cap on the doubled open time, so a long outage is still re-probed regularly.</param>
/// <param name="HalfOpenTrials">Trial requests admitted while half-open; all of them must succeed to close.</param>
public sealed record BreakerConfig(
    int ConsecutiveFailures,
    double FailureRateThreshold,
    TimeSpan Window,
    int MinimumRequests,
    TimeSpan OpenFor,
    TimeSpan MaxOpen,
    int HalfOpenTrials)
{
    /// <summary>5 in a row, or ≥ 50% of ≥ 20 results in 30s; open 1s doubling up to 60s; one trial.</summary>
    public static readonly BreakerConfig Default = new(
        ConsecutiveFailures: 5,
        FailureRateThreshold: 0.5,
        Window: TimeSpan.FromSeconds(30),
        MinimumRequests: 20,
        OpenFor: TimeSpan.FromSeconds(1),
        MaxOpen: TimeSpan.FromSeconds(60),
        HalfOpenTrials: 1);
}
