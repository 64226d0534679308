using System.Collections.Immutable;
using Akka.Actor;
using Prox.Actors.Backends;
using Prox.Actors.Config;
using Prox.Actors.Selection;

namespace Prox.Actors.Routing;

/// <summary>
/// Immutable view of one route that the request path reads without locks. Its RouteActor is the only
/// writer and publishes a new instance whenever membership, ejection state or weights change.
/// </summary>
public sealed class RouteSnapshot
{
    public RouteSnapshot(RouteConfig config, IActorRef routeActor, ImmutableArray<BackendEntry> eligible,
        IBackendSelector selector, DateTimeOffset? nextReturn, long version)
    {
        Config = config;
        RouteActor = routeActor;
        Eligible = eligible;
        Selector = selector;
        NextReturn = nextReturn;
        Version = version;
    }

    public RouteConfig Config { get; }
    public string Id => Config.Id;
    public IActorRef RouteActor { get; }

    /// <summary>Backends that may receive traffic now, in config order.</summary>
    public ImmutableArray<BackendEntry> Eligible { get; }

    /// <summary>The route's selection policy, prepared for <see cref="Eligible"/> (schedule, cursor).</summary>
    public IBackendSelector Selector { get; }

    /// <summary>When the earliest ejected backend returns (for <c>Retry-After</c>), if any is ejected.</summary>
    public DateTimeOffset? NextReturn { get; }

    public long Version { get; }
}
