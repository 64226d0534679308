namespace Prox.Actors.Routing;

/// <summary>
/// Holds the current <see cref="RouteSnapshot"/> of one route. The route's RouteActor is the only writer;
/// requests read <see cref="Current"/> with a single volatile load.
/// </summary>
public sealed class RouteSlot
{
    private volatile RouteSnapshot? _current;

    public RouteSlot(string routeId) => RouteId = routeId;

    public string RouteId { get; }

    /// <summary>Null only in the moment between the route's creation and its first publish.</summary>
    public RouteSnapshot? Current => _current;

    internal void Publish(RouteSnapshot snapshot) => _current = snapshot;
}
