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
    ImmutableArray<BackendStatus> Backends);

public sealed record GetProxStatus
{
    public static readonly GetProxStatus Instance = new();
}

public sealed record ProxStatus(ImmutableArray<RouteStatus> Routes);
