using System.Collections.Immutable;
using Prox.Actors.Backends;
using Prox.Actors.Config;

namespace Prox.Actors.Routing;

/// <summary>Reload: apply the routes of <paramref name="Config"/>. Answered with <see cref="ConfigApplied"/> once every
/// changed route has applied its part.</summary>
public sealed record ApplyRoutes(ProxConfig Config, TimeSpan DrainTimeout);

/// <summary>What a reload changed, route by route.</summary>
public sealed record ConfigApplied(
    ImmutableArray<string> Added,
    ImmutableArray<string> Removed,
    ImmutableArray<string> Changed,
    ImmutableArray<RouteUpdated> Routes);

/// <summary>Reload: apply this config to the route in place. Answered with <see cref="RouteUpdated"/>.</summary>
/// <param name="DrainTimeout">How long removed or replaced backends may finish in-flight requests.</param>
public sealed record UpdateRoute(RouteConfig Config, TimeSpan DrainTimeout);

public sealed record RouteUpdated(string RouteId, int Added, int Removed, int Replaced, int Reweighted);

/// <summary>Reload removed the route: drain every backend, then tell the parent <see cref="RouteDrained"/>.</summary>
public sealed record DrainRoute(TimeSpan DrainTimeout);

public sealed record RouteDrained(string RouteId);

/// <summary>Sent by a RouteActor to its parent after it publishes a snapshot.</summary>
public sealed record RouteSnapshotPublished(string RouteId, long Version);

public sealed record GetRouteStatus
{
    public static readonly GetRouteStatus Instance = new();
}

public sealed record RouteStatus(
    string Name,
    string Policy,
    string PathPrefix,
    ImmutableArray<string> Hosts,
    int Eligible,
    long SnapshotVersion,
    ImmutableArray<BackendStatus> Backends)
{
    /// <summary>Request coalescing counters; null when the route has dedup off.</summary>
    public DedupStatus? Dedup { get; init; }

    /// <summary>Passive ejections or open breakers left fewer than the route's panic threshold of its backends eligible:
    /// the route balances over every backend its active health checks do not report down
    /// (<see cref="PanicThreshold"/>).</summary>
    public bool Panic { get; init; }
}

// ---- request coalescing (dedup routes only) ----

/// <summary>Asked by the request path of a dedup route: lead the request for <paramref name="Key"/>, or follow
/// the one already in flight. Answered with <see cref="CoalesceDecision"/>.</summary>
public sealed record JoinOrLead(string Key);

/// <summary>The answer to <see cref="JoinOrLead"/>. <see cref="Entry"/> is null when the route does not coalesce
/// (any more: a reload turned dedup off): forward as usual.</summary>
public sealed record CoalesceDecision(Coalescer? Entry, bool Leads)
{
    public static readonly CoalesceDecision NotCoalesced = new(null, false);
}

/// <summary>Told by a leader once its <see cref="Coalescer"/> has its outcome: the key is free for a new leader.</summary>
public sealed record LeaderDone(Coalescer Entry);

/// <summary>Told when a follower goes its own way (nothing shared, or its leader took longer than the window).</summary>
public sealed record FollowerWentOwnWay
{
    public static readonly FollowerWentOwnWay Instance = new();
}

/// <param name="Leaders">Requests that led (were forwarded for their key).</param>
/// <param name="Followers">Requests that followed a leader.</param>
/// <param name="OwnWay">Followers released to forward on their own (response not shareable, leader gone or too slow).</param>
/// <param name="InFlightKeys">Keys with a leader in flight now.</param>
public sealed record DedupStatus(long Leaders, long Followers, long OwnWay, int InFlightKeys);

public sealed record GetProxStatus
{
    public static readonly GetProxStatus Instance = new();
}

public sealed record ProxStatus(ImmutableArray<RouteStatus> Routes);
