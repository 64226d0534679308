using System.Globalization;
using System.Text.Json.Serialization;
using Prox.Actors.Storage;

namespace Prox.Actors.Events;

/// <summary>
/// One thing that happened to Prox, in the one vocabulary every consumer shares (docs/architecture.md,
/// "Events"). Published on the Akka event stream; the event log, logs and webhooks subscribe. Nobody calls a
/// consumer directly.
/// </summary>
/// <param name="Id">Unique and ordered by time (hex milliseconds, then random), so <c>since=ID</c> paging
/// and webhook idempotency keys can use it.</param>
/// <param name="Kind">One of <see cref="ProxEventKinds"/>.</param>
public sealed record ProxEvent(string Id, DateTimeOffset Timestamp, string Kind, string? Route, string? Backend, string Detail)
    : IClusterMessage
{
    /// <summary>
    /// The cluster address of the node that raised the event (<c>akka.tcp://prox@host:port</c>); null in standalone mode.
    /// Raisers never set it: the node's <see cref="ClusterEventRelay"/> stamps it when it shares a local event with the
    /// cluster, so null also means "raised here, not yet shared". Left out of JSON when null, so standalone output
    /// (and the stored webhook outbox) is what it was before clustering.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Node { get; init; }

    /// <summary>
    /// A backend's first health verdict since this Prox started (a backend added later: since it was added), not a
    /// change this process saw: on a <c>backend-down</c>, the backend was down from the start; on a <c>backend-up</c>,
    /// its first check passed. Such a <c>backend-up</c> is raised for every health-checked backend; the event log hides
    /// it and the Notifier compares it with the state announced before a restart (was down: a real <c>backend-up</c>
    /// follows). Left out of JSON when false.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public bool Initial { get; init; }

    public static ProxEvent Create(DateTimeOffset now, string kind, string? route, string? backend, string detail) =>
        new(NewId(now), now, kind, route, backend, detail);

    private static string NewId(DateTimeOffset now) =>
        now.ToUnixTimeMilliseconds().ToString("x12", CultureInfo.InvariantCulture) + "-"
        + Random.Shared.Next().ToString("x8", CultureInfo.InvariantCulture);
}

/// <summary>The event kinds. Webhook filters and <c>/status</c> use these exact strings.</summary>
public static class ProxEventKinds
{
    /// <summary>Active health: the backend failed <c>unhealthy-after</c> checks in a row; it gets no traffic.</summary>
    public const string BackendDown = "backend-down";
    /// <summary>Active health: a down backend passed <c>healthy-after</c> checks in a row.</summary>
    public const string BackendUp = "backend-up";
    /// <summary>Active health: the backend changed state more than the flap threshold within the flap window.</summary>
    public const string BackendUnstable = "backend-unstable";
    /// <summary>Passive health: consecutive request failures took a backend out of rotation.</summary>
    public const string BackendEjected = "backend-ejected";
    /// <summary>Passive health: an ejected backend's time is up; it is back, on probation.</summary>
    public const string BackendReturned = "backend-returned";
    /// <summary>A route has no eligible backend left: requests get 503.</summary>
    public const string PoolDown = "pool-down";
    /// <summary>A route that had no eligible backend has one again.</summary>
    public const string PoolUp = "pool-up";
    /// <summary>Circuit breaker: failures tripped it (or a trial failed); the backend gets no traffic until it half-opens.</summary>
    public const string BreakerOpened = "breaker-opened";
    /// <summary>Circuit breaker: open time over (or a health check passed); a few trial requests are let through.</summary>
    public const string BreakerHalfOpen = "breaker-half-open";
    /// <summary>Circuit breaker: every trial succeeded; full traffic again.</summary>
    public const string BreakerClosed = "breaker-closed";
    /// <summary>A reloaded config was valid and is now running; detail says what changed.</summary>
    public const string ConfigApplied = "config-applied";
    /// <summary>Passive ejections or open breakers left fewer than the route's panic threshold of its backends eligible:
    /// the route balances over every backend its active health checks do not report down.</summary>
    public const string RoutePanic = "route-panic";
    /// <summary>Enough of the route's backends are eligible again: ejections and open breakers apply once more.</summary>
    public const string RoutePanicOver = "route-panic-over";
    /// <summary>A reloaded config was invalid; the last good config keeps running. Detail lists the errors.</summary>
    public const string ConfigRejected = "config-rejected";
    /// <summary>An actor crashed and its supervisor restarted it.</summary>
    public const string ActorRestarted = "actor-restarted";
    /// <summary>Recovery: a backend's recovery action ran (detail: action, attempt number, its result).</summary>
    public const string RecoveryAttempted = "recovery-attempted";
    /// <summary>Recovery: the backend became available again before the next attempt was due.</summary>
    public const string RecoverySucceeded = "recovery-succeeded";
    /// <summary>Recovery: the action failed, or the backend was still down when the next attempt was due.</summary>
    public const string RecoveryFailed = "recovery-failed";
    /// <summary>A TLS certificate in use expires within 14 days (raised once per certificate and process).</summary>
    public const string CertificateExpiring = "certificate-expiring";

    public static readonly IReadOnlyList<string> All =
    [
        BackendDown, BackendUp, BackendUnstable, BackendEjected, BackendReturned, PoolDown, PoolUp, RoutePanic, RoutePanicOver,
        BreakerOpened, BreakerHalfOpen, BreakerClosed, ActorRestarted,
        RecoveryAttempted, RecoverySucceeded, RecoveryFailed, ConfigApplied, ConfigRejected, CertificateExpiring,
    ];
}
