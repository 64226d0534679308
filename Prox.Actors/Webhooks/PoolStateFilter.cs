using System.Collections.Immutable;
using Prox.Actors.Events;

namespace Prox.Actors.Webhooks;

/// <summary>
/// Cluster mode: every node runs its own RouteActors, so one route's pool going down (or up) is raised once per node.
/// This remembers each route's last pool kind and calls an event of the same kind for that route a repeat, so the
/// Notifier singleton sends one webhook per transition. Other kinds always pass. Pure: the Notifier keeps the state.
/// </summary>
public sealed class PoolStateFilter
{
    public static readonly PoolStateFilter Empty = new(ImmutableDictionary<string, string>.Empty);

    private readonly ImmutableDictionary<string, string> _last;

    private PoolStateFilter(ImmutableDictionary<string, string> last) => _last = last;

    /// <summary>Decides <paramref name="e"/>: <c>Keep</c> false for a pool-down/pool-up whose route's last pool event
    /// had the same kind; <c>Next</c> remembers a kept pool event's kind.</summary>
    public (PoolStateFilter Next, bool Keep) Offer(ProxEvent e)
    {
        if (e.Route is not { } route || e.Kind is not (ProxEventKinds.PoolDown or ProxEventKinds.PoolUp)) return (this, true);
        if (_last.TryGetValue(route, out var last) && last == e.Kind) return (this, false);
        return (new PoolStateFilter(_last.SetItem(route, e.Kind)), true);
    }
}
