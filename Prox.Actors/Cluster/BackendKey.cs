using Prox.Actors.Config;

namespace Prox.Actors.Cluster;

/// <summary>
/// Names a backend's sharded entity: route id and backend id, each escaped, joined by <c>/</c> (ids may hold any
/// text). Every node derives the same id from the same config, so all of them reach the same entity.
/// </summary>
public static class BackendKey
{
    public static string EntityId(string routeId, string backendId) =>
        Uri.EscapeDataString(routeId) + "/" + Uri.EscapeDataString(backendId);

    /// <summary>Route id and backend id of an entity id; null for text that is not one.</summary>
    public static (string RouteId, string BackendId)? Parse(string entityId)
    {
        var slash = entityId.IndexOf('/', StringComparison.Ordinal);
        if (slash <= 0 || slash == entityId.Length - 1 || entityId.IndexOf('/', slash + 1) >= 0) return null;
        return (Uri.UnescapeDataString(entityId[..slash]), Uri.UnescapeDataString(entityId[(slash + 1)..]));
    }

    /// <summary>
    /// What the backend's actor is built from — the backend's config except weight and drain (which each node's
    /// route applies itself), the route's passive ejection and the attempt timeout — as a short hash. Nodes on the
    /// same config version agree on it; the entity starts afresh when it changes, as a reload replaces a changed backend.
    /// </summary>
    public static string Fingerprint(RouteConfig route, BackendConfig backend) =>
        ConfigComparer.Fingerprint(new FingerprintOf(backend with { Weight = 1, Drain = false }, route.Passive, AttemptTimeout(route, backend)));

    /// <summary>The longest one attempt on the backend may take: its own timeout, else the route's request timeout.</summary>
    public static TimeSpan AttemptTimeout(RouteConfig route, BackendConfig backend) => backend.Timeout ?? route.Timeouts.Request;

    private sealed record FingerprintOf(BackendConfig Backend, PassiveConfig Passive, TimeSpan AttemptTimeout);
}
