using System.Collections.Immutable;
using Prox.Actors.Storage;

namespace Prox.Actors.Backends;

/// <summary>How a forwarded request ended, as far as the backend's health is concerned.</summary>
public enum OutcomeKind : byte
{
    /// <summary>The backend answered (any status that is not a gateway failure).</summary>
    Success,
    /// <summary>The backend answered 502, 503 or 504.</summary>
    GatewayStatus,
    /// <summary>No connection could be made, or it broke before a response.</summary>
    ConnectFailure,
    /// <summary>No response (headers, or body progress) within the timeout.</summary>
    Timeout,
    /// <summary>The backend broke the exchange after responding (truncated body, bad headers).</summary>
    ProtocolFailure,
    /// <summary>The client went away or sent a bad body: says nothing about the backend.</summary>
    ClientAbort,
}

/// <summary>How one attempt on a backend ended: told by the request path for failures and breaker trials
/// (<see cref="BackendLive.Report"/>; other outcomes are counted on the backend's <see cref="OutcomeTally"/>).</summary>
public sealed record RequestOutcome(OutcomeKind Kind, int Status, TimeSpan Latency)
{
    /// <summary>The backend's <see cref="OutcomeTally.Answered"/> when this outcome was reported: the actor lets the
    /// guard hear of those answers first, so a success between two failures still breaks their streak. -1 (the
    /// default): not from this node's request path (a test, or another node's batch); the tally is not consulted.</summary>
    public long AnsweredBefore { get; init; } = -1;

    /// <summary>Set when the request was a half-open breaker trial: the permits it was admitted by, so the
    /// breaker counts only trials of its current half-open period.</summary>
    public Breaker.HalfOpenPermits? Trial { get; init; }

    public bool IsBackendFailure => Kind is OutcomeKind.GatewayStatus or OutcomeKind.ConnectFailure
        or OutcomeKind.Timeout or OutcomeKind.ProtocolFailure;
}

/// <summary><paramref name="Count"/> consecutive outcomes of one kind and status; latency is their mean.</summary>
public sealed record OutcomeRun(OutcomeKind Kind, int Status, int Count, long MeanLatencyMicros);

/// <summary>Cluster mode: other nodes' outcomes for the backend, in order, folded into runs; the actor replays them
/// as if each had been told on its own. One message per batch, however many requests it stands for.</summary>
public sealed record RecordOutcomes(ImmutableArray<OutcomeRun> Runs);

/// <summary>A backend's availability changed; sent by the BackendActor to its RouteActor.</summary>
/// <param name="EjectedUntil">When unavailable for a known time (ejected, breaker open): when it returns.</param>
public sealed record BackendAvailabilityChanged(string BackendId, bool Available, DateTimeOffset? EjectedUntil)
{
    /// <summary>Set while the backend's breaker is half-open: only requests that win a permit may go to it.</summary>
    public Breaker.HalfOpenPermits? Trials { get; init; }

    /// <summary>Unavailable only because its guard (passive ejection or an open breaker) blocks it: its active health
    /// checks, if any, do not report it down. A route in panic balances over such backends too.</summary>
    public bool Guarded { get; init; }
}

public sealed record GetBackendStatus
{
    public static readonly GetBackendStatus Instance = new();
}

public sealed record LatencySummary(double P50, double P95, double P99, double Ewma);

/// <summary>What <c>/status</c> shows for one backend.</summary>
public sealed record BackendStatus(
    string Id,
    string Url,
    int Weight,
    bool Healthy,
    string State,
    DateTimeOffset? EjectedUntil,
    int InFlight,
    long Requests,
    long Failures,
    int ConsecutiveFailures,
    int Ejections,
    LatencySummary LatencyMs) : IClusterMessage
{
    /// <summary>Cluster mode: the address of the node whose entity owns the backend (probes it, runs its breaker).</summary>
    public string? Owner { get; init; }

    /// <summary>Upgraded (WebSocket) connections to this backend open now (this node's).</summary>
    public int WebSockets { get; init; }

    /// <summary>Active health checks, when configured.</summary>
    public BackendHealthStatus? Health { get; init; }

    /// <summary>The backend's guard as a circuit breaker: its configured breaker, or passive ejection in breaker terms
    /// (ejected = open, on probation = half-open). Set for every backend the owner answers for.</summary>
    public BackendBreakerStatus? Breaker { get; init; }

    /// <summary>Recovery actions, when configured.</summary>
    public BackendRecoveryStatus? Recovery { get; init; }
}

/// <summary>What <c>/status</c> shows of a backend's guard, in one shape whichever guards it.</summary>
/// <param name="State"><c>closed</c>, <c>open</c> or <c>half-open</c>. Passive ejection: ejected is <c>open</c>, on
/// probation after an ejection (one failure ejects again) is <c>half-open</c>, otherwise <c>closed</c>.</param>
/// <param name="Mode"><c>breaker</c> (a <c>breaker {}</c> block is configured) or <c>passive</c> (passive ejection).</param>
/// <param name="ConsecutiveFailures">Failures since the last success.</param>
/// <param name="Openings">Openings since it last closed (sets the next open time); passive: ejections in the current streak.</param>
/// <param name="OpenUntil">While open: when it half-opens (passive: when the ejection ends).</param>
/// <param name="TrialsLeft">Breaker mode: half-open trial permits not yet handed out.</param>
/// <param name="WindowRequests">Breaker mode: results in the failure-rate window.</param>
/// <param name="WindowFailures">Breaker mode: failures among them.</param>
public sealed record BackendBreakerStatus(
    string State,
    string Mode,
    int ConsecutiveFailures,
    int Openings,
    DateTimeOffset? OpenUntil,
    int? TrialsLeft,
    int? WindowRequests,
    int? WindowFailures)
{
    /// <summary>While open: seconds until <see cref="OpenUntil"/>, as of the status.</summary>
    public double? RemainingSeconds { get; init; }

    /// <summary>Consecutive failures that open it: <c>passive.failures-to-eject</c>, or the breaker's
    /// <c>consecutive-failures</c> (absent when that rule is off).</summary>
    public int? FailuresToOpen { get; init; }
}

/// <summary>What <c>/status</c> shows of a backend's recovery actions.</summary>
/// <param name="Action"><c>http POST &lt;url&gt;</c> or <c>command &lt;program&gt;</c>.</param>
/// <param name="SuccessRate">Successes / (successes + failures), 0..1; null before any attempt was judged.</param>
/// <param name="DownSince">Start of the open outage; null while up.</param>
/// <param name="NextAttemptAt">When the next attempt is due while down.</param>
public sealed record BackendRecoveryStatus(
    string Action,
    int Attempts,
    int Successes,
    int Failures,
    double? SuccessRate,
    DateTimeOffset? DownSince,
    DateTimeOffset? NextAttemptAt,
    LastRecoveryAttempt? LastAttempt);

/// <param name="At">When the action started.</param>
/// <param name="Attempt">Its number within its outage.</param>
/// <param name="ActionOk">HTTP 2xx or exit code 0 within the timeout.</param>
public sealed record LastRecoveryAttempt(DateTimeOffset At, int Attempt, bool ActionOk, string Detail);

/// <summary>What <c>/status</c> shows of a backend's active health checks.</summary>
public sealed record BackendHealthStatus(
    bool Healthy,
    bool Unstable,
    int ConsecutiveOk,
    int ConsecutiveFailed,
    double UptimePercent,
    int Checks,
    LastCheck? LastCheck,
    CheckLatency CheckLatencyMs);

public sealed record LastCheck(DateTimeOffset At, int Status, double LatencyMs, string? Error);

public sealed record CheckLatency(double P50, double P95, double Max);
