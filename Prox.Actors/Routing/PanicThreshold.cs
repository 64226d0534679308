namespace Prox.Actors.Routing;

/// <summary>
/// The route's panic rule (Envoy's panic threshold): passive ejection and breakers exist to spare the rest of a pool
/// one failing backend, not to take the pool down. When they would leave fewer than the threshold's share of the
/// route's backends eligible, the route balances over every backend its active health checks do not report down,
/// so a route with one backend never loses it to passive ejection alone. Pure; the RouteActor applies it when it
/// builds the snapshot, so the request path reads the result and decides nothing.
/// </summary>
public static class PanicThreshold
{
    /// <summary>Whether the route is in panic.</summary>
    /// <param name="backends">The route's backends that take traffic at all (drained ones do not count).</param>
    /// <param name="eligible">Of those, the ones neither ejected, behind an open breaker nor reported down.</param>
    /// <param name="guarded">Of those, the ones out only because of their guard: what panic would bring back.</param>
    /// <param name="threshold">The route's <c>passive.panic-threshold</c> (0..1; 0 = never panic).</param>
    public static bool Applies(int backends, int eligible, int guarded, double threshold) =>
        // without a guarded backend panic changes nothing: health checks alone never panic a route
        threshold > 0 && guarded > 0 && eligible < threshold * backends;
}
