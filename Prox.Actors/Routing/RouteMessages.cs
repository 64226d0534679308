using System.Collections.Immutable;
using Prox.Actors.Backends;

namespace Prox.Actors.Routing;

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
