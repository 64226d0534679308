using System.Collections.Immutable;
using Prox.Actors.Events;

namespace Prox.Actors.Webhooks;

/// <summary>
/// The last state the Notifier announced for each backend (<c>backend-down</c>/<c>backend-up</c>) and each route's pool
/// (<c>pool-down</c>/<c>pool-up</c>), kept in its journal beside the outbox so that it outlives a restart. An event of
/// the kind last announced for its backend or pool is a repeat, not a transition: a backend still down after Prox
/// restarted, and in cluster mode every node's RouteActor reporting the same pool transition. Other kinds, and events
/// without the route (and backend) they would be keyed by, always pass. Pure: the Notifier keeps the state.
/// </summary>
public sealed class AnnouncedStates
{
    public static readonly AnnouncedStates Empty = new(ImmutableDictionary<string, string>.Empty);

    private readonly ImmutableDictionary<string, string> _last;

    private AnnouncedStates(ImmutableDictionary<string, string> last) => _last = last;

    /// <summary>What the states are keyed by: <c>pool:ROUTE</c> or <c>backend:ROUTE/BACKEND</c>; null for other kinds.</summary>
    public static string? KeyOf(ProxEvent e) => e.Kind switch
    {
        ProxEventKinds.PoolDown or ProxEventKinds.PoolUp when e.Route is { } route => PoolKey(route),
        ProxEventKinds.BackendDown or ProxEventKinds.BackendUp when e is { Route: { } route, Backend: { } backend } =>
            BackendKey(route, backend),
        _ => null,
    };

    public static string PoolKey(string route) => "pool:" + route;

    public static string BackendKey(string route, string backend) => $"backend:{route}/{backend}";

    /// <summary>The kind last announced under <paramref name="key"/>, or null.</summary>
    public string? Last(string key) => _last.GetValueOrDefault(key);

    /// <summary>Every key with its last kind, to store in a snapshot.</summary>
    public IEnumerable<KeyValuePair<string, string>> All => _last;

    /// <summary>Decides <paramref name="e"/>: <c>Keep</c> false for a repeat of its key's last kind; <c>Announce</c> is
    /// the state to remember (and store) when it is kept and changes one, else null.</summary>
    public (bool Keep, StateAnnounced? Announce) Offer(ProxEvent e)
    {
        if (KeyOf(e) is not { } key) return (true, null);
        return Last(key) == e.Kind ? (false, null) : (true, new StateAnnounced(key, e.Kind));
    }

    /// <summary>Remembers an announcement (live, or replayed from the journal or a snapshot).</summary>
    public AnnouncedStates With(StateAnnounced a) => new(_last.SetItem(a.Key, a.Kind));
}
