using Prox.Actors.Backends;
using Prox.Actors.Breaker;
using Prox.Actors.Health;
using Prox.Actors.Storage;

namespace Prox.Actors.Cluster;

/// <summary>
/// What a backend's owner knew at its last availability change, carried by every node's link so that a new owner
/// (after a failover or a graceful hand-off) starts where the old one stopped rather than afresh: a backend that was
/// down, ejected or behind an open breaker stays so, instead of getting traffic until it fails again. Taken at each
/// change and sent with the state update; a new entity asks one subscriber for it before it starts the backend.
/// The breaker's failure-rate window is not carried (it restarts empty), nor are recovery actions' counters.
/// </summary>
/// <param name="Fingerprint">The config it was built from: a carry for another config is not used.</param>
public sealed record BackendCarry(
    string Fingerprint,
    bool Available,
    long Requests,
    long Failures,
    PassiveState Passive,
    BreakerMode BreakerMode,
    int BreakerConsecutiveFailures,
    int BreakerOpenings,
    DateTimeOffset? BreakerOpenUntil,
    int BreakerTrialSuccesses,
    HealthState? Health,
    ProbeResult? LastProbe)
{
    /// <summary>The state in <paramref name="m"/> now. Called by the owner right after its backend actor reported a
    /// change (the message orders the actor's writes before this read).</summary>
    public static BackendCarry Of(string fingerprint, BackendMemory m) => new(
        fingerprint, m.LastAvailable, m.Requests, m.Failures, m.Passive,
        m.Breaker.Mode, m.Breaker.ConsecutiveFailures, m.Breaker.Openings, m.Breaker.OpenUntil, m.Breaker.TrialSuccesses,
        m.Health, m.LastProbe);

    /// <summary>Puts the carried state into a new backend's memory, before its actor starts (which re-arms the timers
    /// for an ejection or an open breaker from it, as after a crash).</summary>
    public void RestoreInto(BackendMemory m)
    {
        m.Requests = Requests;
        m.Failures = Failures;
        m.Passive = Passive;
        m.Breaker = BreakerState.Initial with
        {
            Mode = BreakerMode,
            ConsecutiveFailures = BreakerConsecutiveFailures,
            Openings = BreakerOpenings,
            OpenUntil = BreakerOpenUntil,
            TrialSuccesses = BreakerTrialSuccesses,
        };
        m.Health = Health;
        m.LastProbe = LastProbe;
        m.LastAvailable = Available;
    }
}

/// <summary>A new owner asks a subscriber for the last <see cref="BackendCarry"/> it heard.</summary>
public sealed record BackendSeedRequest(string EntityId) : IClusterMessage;

/// <summary>A link's answer to <see cref="BackendSeedRequest"/>; <paramref name="Carry"/> null when it has none
/// (a new backend): the owner then starts afresh.</summary>
public sealed record BackendSeed(string EntityId, BackendCarry? Carry) : IBackendEntityMessage, IClusterMessage;
