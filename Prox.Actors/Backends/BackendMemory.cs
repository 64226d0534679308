using Prox.Actors.Breaker;
using Prox.Actors.Health;
using Prox.Actors.Recovery;
using Prox.Actors.Supervision;

namespace Prox.Actors.Backends;

/// <summary>
/// Everything a backend's actor knows that must outlive the actor: counters, latency statistics, the guard's
/// (passive ejection, breaker), health and recovery state, and the actor's crashes. Its route's <c>RouteSlot</c> keeps it, and every incarnation of the
/// <see cref="BackendActor"/> (and of its RouteActor) is handed the same instance, so a crash and restart loses
/// nothing. Only the current incarnation touches it; incarnations never overlap (a new one is created after the
/// old one stopped, which orders their memory accesses).
/// </summary>
public sealed class BackendMemory
{
    private int _lastAvailable = 1;

    public BackendMemory(BackendLive live) => Live = live;

    /// <summary>The values the request path reads and updates directly.</summary>
    public BackendLive Live { get; }

    public long Requests { get; set; }
    public long Failures { get; set; }
    public LatencyStats Latency { get; } = new();

    /// <summary>What the actor has folded of <see cref="BackendLive.Tally"/>.</summary>
    public TallyCursor Tally { get; } = new();

    /// <summary>
    /// Folds what the request path counted on <see cref="BackendLive.Tally"/> since the last fold into the counters,
    /// latency statistics and the EWMA the balancer reads; returns what it took and how many answers, up to
    /// <paramref name="upTo"/> (a failure's <see cref="RequestOutcome.AnsweredBefore"/>), the guard has yet to hear of.
    /// </summary>
    public (TallyDelta Delta, long GuardNews) FoldTally(long upTo = long.MaxValue)
    {
        var d = Tally.Fold(Live.Tally, Latency);
        Requests += d.Count;
        if (d.Answered > 0) Live.EwmaMicros = Latency.EwmaMicros;
        return (d, Tally.GuardNews(upTo));
    }
    public PassiveState Passive { get; set; } = PassiveState.Initial;
    public BreakerState Breaker { get; set; } = BreakerState.Initial;

    /// <summary>Null until the first incarnation with health checks starts.</summary>
    public HealthState? Health { get; set; }
    public ProbeResult? LastProbe { get; set; }

    /// <summary>Whether a health check passed since the backend's first actor started: until then a backend-down is the
    /// backend's first verdict (down from the start), and the first pass is announced as an initial backend-up.</summary>
    public bool ProbePassed { get; set; }

    /// <summary>Recovery actions: attempts, outcomes and the open outage.</summary>
    public RecoveryState Recovery { get; set; } = RecoveryState.Initial;

    /// <summary>What the actor last told its route; a restarted route starts from it instead of assuming "up".</summary>
    public bool LastAvailable
    {
        get => Volatile.Read(ref _lastAvailable) == 1;
        set => Volatile.Write(ref _lastAvailable, value ? 1 : 0);
    }

    /// <summary>Crashes of this backend's actor; the next incarnation reports the last one.</summary>
    public CrashLedger Crashes { get; } = new();
}
