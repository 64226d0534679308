using System.Collections.Immutable;
using Prox.Actors.Caching;
using Prox.Actors.Cluster.Membership;
using Prox.Actors.ConfigHistory;
using Prox.Actors.Dedup;
using Prox.Actors.Persistence;

namespace Prox.Actors.Config;

/// <summary>The whole validated <c>prox { … }</c> block. Immutable; a new config is a new instance.</summary>
public sealed record ProxConfig(
    ImmutableArray<ListenAddress> Listen,
    AdminConfig Admin,
    ImmutableArray<RouteConfig> Routes,
    ImmutableArray<System.Net.IPNetwork> TrustedProxies,
    LimitsConfig Limits)
{
    /// <summary>The text the config was parsed from (kept for versioning and diagnostics).</summary>
    public string? SourceText { get; init; }

    /// <summary>The text after <c>${…}</c> substitution: what the <c>akka { … }</c> block is read from.</summary>
    public string? ResolvedText { get; init; }

    /// <summary><c>prox.webhooks</c>: where the Notifier delivers events; empty = no Notifier, no persistence.</summary>
    public ImmutableArray<Prox.Actors.Webhooks.WebhookConfig> Webhooks { get; init; } = [];

    /// <summary><c>prox.persistence</c>: the journal of the persistent actors (started only when one is needed).</summary>
    public PersistenceConfig Persistence { get; init; } = PersistenceConfig.Default;

    /// <summary>How a SIGTERM or Ctrl-C stops the process (<c>prox.shutdown</c>).</summary>
    public ShutdownConfig Shutdown { get; init; } = ShutdownConfig.Default;

    /// <summary><c>prox.cache</c>: the response cache's memory budget and bypass header (routes opt in with their own <c>cache</c> block).</summary>
    public ProxCacheConfig Cache { get; init; } = ProxCacheConfig.Default;

    /// <summary><c>prox.config-history</c>: how many applied config versions the ConfigStore keeps.</summary>
    public ConfigHistoryConfig ConfigHistory { get; init; } = ConfigHistoryConfig.Default;

    /// <summary><c>prox.tls</c>: certificates chosen by SNI and the oldest TLS version accepted.</summary>
    public Tls.TlsConfig Tls { get; init; } = Prox.Actors.Tls.TlsConfig.Default;

    /// <summary><c>prox.cluster</c>: Akka.Cluster membership (preview); off by default. Bound at start-up.</summary>
    public ClusterConfig Cluster { get; init; } = ClusterConfig.Default;

    /// <summary>Proxy listener used when <c>prox.listen</c> is absent.</summary>
    public static readonly ImmutableArray<ListenAddress> DefaultListen = [new("127.0.0.1", 8080)];
}

/// <summary>A listen address such as <c>127.0.0.1:8080</c>, <c>[::1]:8080</c>, <c>*:8080</c> or <c>localhost:8080</c>. Port 0 picks a free port.</summary>
public sealed record ListenAddress(string Host, int Port)
{
    /// <summary>TLS on this listener (<c>{ address = …, tls { … } }</c>); null = cleartext.</summary>
    public Tls.ListenerTls? Tls { get; init; }

    /// <summary>The HTTP versions spoken (<c>protocols</c>): HTTP/1.1 and HTTP/2 with TLS, HTTP/1.1 without, unless set.</summary>
    public Tls.HttpProtocolSet Protocols { get; init; } = Prox.Actors.Tls.HttpProtocolSet.Http1;

    /// <summary>The same host and port (what two listeners cannot share), whatever their TLS and protocols.</summary>
    public bool SameEndpoint(ListenAddress other) => Host == other.Host && Port == other.Port;

    public override string ToString() => Host.Contains(':') ? $"[{Host}]:{Port}" : $"{Host}:{Port}";
}

public sealed record AdminConfig(ImmutableArray<ListenAddress> Listen)
{
    /// <summary>Enables <c>POST /admin/chaos/crash</c> (fault injection for drills and tests). Off by default.</summary>
    public bool Chaos { get; init; }

    /// <summary>Bearer tokens accepted by the admin plane (SHA-256 hashes only). Empty: the admin plane is open,
    /// which the binder allows only on loopback listeners.</summary>
    public ImmutableArray<AdminToken> Tokens { get; init; } = [];

    /// <summary>Admin listener used when <c>prox.admin.listen</c> is absent: loopback only.</summary>
    public static readonly AdminConfig Default = new([new ListenAddress("127.0.0.1", 9901)]);
}

/// <summary>One admin token: who it is (for the audit log), the SHA-256 of the token text, and what it may do.</summary>
/// <param name="Sha256">The 32-byte SHA-256 of the token's UTF-8 text; the token itself is never configured.</param>
public sealed record AdminToken(string Name, ImmutableArray<byte> Sha256, AdminRole Role);

/// <summary>What an admin token may do: <see cref="Read"/> the GET/HEAD endpoints, or also <see cref="Write"/> (every other method).</summary>
public enum AdminRole
{
    Read,
    Write,
}

/// <param name="DrainTimeout">How long in-flight requests may finish after a SIGTERM or Ctrl-C before their connections are closed.</param>
public sealed record ShutdownConfig(TimeSpan DrainTimeout)
{
    public static readonly ShutdownConfig Default = new(TimeSpan.FromSeconds(30));
}

/// <summary>Request limits applied by the front end before anything is forwarded.</summary>
/// <param name="MaxRequestBodyBytes">Largest request body accepted (413 beyond); null = unlimited.</param>
public sealed record LimitsConfig(long? MaxRequestBodyBytes)
{
    /// <summary><c>prox.limits.http2</c>: Kestrel's HTTP/2 limits for client connections.</summary>
    public Tls.Http2LimitsConfig Http2 { get; init; } = Prox.Actors.Tls.Http2LimitsConfig.Default;

    public static readonly LimitsConfig Default = new(1L << 30);
}

public sealed record RouteConfig(
    string Id,
    RouteMatch Match,
    bool StripPrefix,
    LoadBalancingPolicy LoadBalancing,
    ImmutableArray<BackendConfig> Backends,
    TimeoutsConfig Timeouts,
    RetryConfig Retries,
    PassiveConfig Passive,
    bool BackendHeader,
    bool PreserveHost)
{
    /// <summary>Active health checks for the route's backends; null = none (passive ejection only).</summary>
    public Health.HealthConfig? Health { get; init; }

    /// <summary>Circuit breaker for the route's backends; null = none (passive ejection instead).</summary>
    public Breaker.BreakerConfig? Breaker { get; init; }
    /// <summary>The route's default recovery action for its backends (each backend's own block overrides it key by key); null = none.</summary>
    public Recovery.RecoveryConfig? Recovery { get; init; }

    /// <summary>Request coalescing (<c>dedup { … }</c>); null or not enabled = off.</summary>
    public DedupConfig? Dedup { get; init; }

    /// <summary>The route's response cache; null = none. Changing it on reload applies in place (the snapshot carries it).</summary>
    public CacheConfig? Cache { get; init; }

    /// <summary>TRACE is forwarded (<c>allow-trace = true</c>); otherwise it is answered 405, since a backend that
    /// echoes it reflects cookies and credentials back to a script (cross-site tracing).</summary>
    public bool AllowTrace { get; init; }

    /// <summary><c>redirect-to-https</c>: a request that came without TLS gets 308 to the same path on the first TLS listener.</summary>
    public bool RedirectToHttps { get; init; }

    /// <summary><c>hsts</c>: the <c>Strict-Transport-Security</c> value sent on responses over TLS; null = none.</summary>
    public string? Hsts { get; init; }

    /// <summary><c>websocket { … }</c>: upgrades on, with their own idle timeout and a cap, unless set otherwise.</summary>
    public WebSockets.WebSocketConfig WebSocket { get; init; } = Prox.Actors.WebSockets.WebSocketConfig.Default;
}

/// <param name="PathPrefix">Matched on whole path segments: <c>/api</c> matches <c>/api</c> and <c>/api/x</c>, not <c>/apix</c>. Starts with <c>/</c>; the parser drops trailing slashes (except for <c>/</c> itself).</param>
/// <param name="Hosts">Exact host names or <c>*.suffix</c> wildcards, lower-case, no port; empty = any host.</param>
public sealed record RouteMatch(string PathPrefix, ImmutableArray<string> Hosts);

public enum LoadBalancingPolicy
{
    RoundRobin,
    WeightedRoundRobin,
    Random,
    WeightedRandom,
    LeastConnections,
    LeastLatency,
}

/// <param name="Id">Stable id within the route: the <c>id</c> key, else the URL's <c>host:port</c>.</param>
/// <param name="Url">Absolute http(s) URL; its path (if any) is prepended to the forwarded path.</param>
/// <param name="Timeout">Per-attempt timeout for this backend, overriding the route's request timeout.</param>
public sealed record BackendConfig(string Id, Uri Url, int Weight, TimeSpan? Timeout)
{
    /// <summary>This backend's own health-check settings, already merged over the route's; null = the route's.</summary>
    public Health.HealthConfig? Health { get; init; }

    /// <summary>This backend's circuit breaker, already merged over the route's; null = none, passive ejection
    /// guards the backend instead (a breaker replaces passive ejection: both react to the same failures).</summary>
    public Breaker.BreakerConfig? Breaker { get; init; }
    /// <summary>This backend's recovery action, already merged over the route's; null = none. Config file only.</summary>
    public Recovery.RecoveryConfig? Recovery { get; init; }

    /// <summary>Administratively drained: the backend keeps its actor, health checks and state but gets no new
    /// requests (HAProxy's "drain"); in-flight ones finish. Changing it on reload applies in place.</summary>
    public bool Drain { get; init; }

    /// <summary>Weight when the config gives none.</summary>
    public const int DefaultWeight = 1;

    /// <summary>Largest weight the parser accepts; keeps precomputed weighted schedules small.</summary>
    public const int MaxWeight = 10_000;
}

/// <param name="Connect">TCP connect timeout.</param>
/// <param name="Request">Budget until response headers arrive, across all attempts (for a request with a body, each
/// attempt's wait starts when its upload ends).</param>
public sealed record TimeoutsConfig(TimeSpan Connect, TimeSpan Request)
{
    public static readonly TimeoutsConfig Default = new(TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(30));

    /// <summary>The longest silence between body bytes, in either direction (request upload, response download), fresh
    /// on every attempt. Separate from <see cref="Request"/>, so a long stream (SSE, a large download) lives as long
    /// as bytes keep coming.</summary>
    public TimeSpan Idle { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>The longest timeout a .NET timer can arm (int.MaxValue ms, about 24.8 days).</summary>
    public static readonly TimeSpan MaxTimer = TimeSpan.FromMilliseconds(int.MaxValue);
}

[Flags]
public enum RetryConditions
{
    None = 0,
    ConnectFailure = 1,
    Timeout = 2,
}

/// <param name="Attempts">Retries after the first try (total tries = 1 + Attempts).</param>
/// <param name="On">Transport conditions that allow a retry.</param>
/// <param name="OnStatuses">Response statuses that allow a retry (e.g. 502, 503, 504).</param>
/// <param name="NonIdempotent">Also retry non-idempotent methods (POST, PATCH) — only when they carry no body.</param>
public sealed record RetryConfig(
    int Attempts,
    TimeSpan Backoff,
    TimeSpan MaxBackoff,
    RetryConditions On,
    ImmutableArray<int> OnStatuses,
    bool NonIdempotent)
{
    public static readonly RetryConfig Default = new(
        2, TimeSpan.FromMilliseconds(50), TimeSpan.FromSeconds(1),
        RetryConditions.ConnectFailure | RetryConditions.Timeout,
        [502, 503, 504], false);
}

/// <param name="FailuresToEject">Consecutive failures that eject a backend.</param>
/// <param name="EjectFor">First ejection time; doubles on each repeat ejection up to <paramref name="MaxEjectFor"/>.</param>
public sealed record PassiveConfig(int FailuresToEject, TimeSpan EjectFor, TimeSpan MaxEjectFor)
{
    public static readonly PassiveConfig Default = new(5, TimeSpan.FromSeconds(10), TimeSpan.FromMinutes(5));

    /// <summary>
    /// The route's panic threshold (0..1; 0 = off): when passive ejections or open breakers would leave fewer than this
    /// share of the route's backends eligible, the route balances over every backend its active health checks do not
    /// report down. A guard meant to spare a failing backend must not take the whole route down with it.
    /// </summary>
    public double PanicThreshold { get; init; } = 0.5;
}
