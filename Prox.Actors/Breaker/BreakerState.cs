namespace Prox.Actors.Breaker;

/// <summary>Whether a breaker lets traffic through.</summary>
public enum BreakerMode
{
    /// <summary>Normal: all traffic flows and results are counted.</summary>
    Closed,

    /// <summary>Tripped: no traffic until <see cref="BreakerState.OpenUntil"/>; requests get 503 + Retry-After.</summary>
    Open,

    /// <summary>Probing: only <see cref="BreakerConfig.HalfOpenTrials"/> trial requests pass (see <see cref="HalfOpenPermits"/>).</summary>
    HalfOpen,
}

/// <summary>
/// Everything the breaker remembers, as an immutable value so that <see cref="CircuitBreaker"/> stays a set of
/// pure functions and the owning actor just swaps the reference. Its size is fixed by the config, not traffic.
/// </summary>
/// <param name="Mode">Current mode.</param>
/// <param name="ConsecutiveFailures">Failures since the last success while closed.</param>
/// <param name="Openings">Openings since the breaker last closed; sets the next open time (doubling).</param>
/// <param name="OpenUntil">Set while open: when the breaker may go half-open.</param>
/// <param name="TrialSuccesses">Trial requests that succeeded in the current half-open period.</param>
/// <param name="Window">Recent results for the failure-rate rule; only fed while closed.</param>
public sealed record BreakerState(
    BreakerMode Mode,
    int ConsecutiveFailures,
    int Openings,
    DateTimeOffset? OpenUntil,
    int TrialSuccesses,
    FailureWindow Window)
{
    /// <summary>A closed breaker with no history.</summary>
    public static readonly BreakerState Initial = new(BreakerMode.Closed, 0, 0, null, 0, FailureWindow.Empty);
}
