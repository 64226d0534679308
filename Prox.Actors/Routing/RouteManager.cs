using System.Collections.Immutable;
using Akka.Actor;
using Akka.Event;
using Prox.Actors.Config;
using Prox.Actors.Health;
using Prox.Actors.Recovery;

namespace Prox.Actors.Routing;

/// <summary>
/// Creates a RouteActor per configured route, publishes the route table the request path matches
/// against, and marks the store ready once every route has published its first snapshot. Applies a new
/// config (<see cref="ApplyRoutes"/>) by diffing routes: unchanged ones are left alone, changed ones update
/// in place, new ones start, removed ones leave the route table at once and stop once drained.
/// </summary>
public sealed class RouteManager : ReceiveActor
{
    private static readonly TimeSpan StatusTimeout = TimeSpan.FromSeconds(4);

    private ProxConfig _cfg;
    private readonly Dictionary<string, int> _generations = new();
    private readonly ProxSnapshotStore _store;
    private readonly IHealthProber? _prober;
    private readonly IRecoveryRunner? _runner;
    private readonly Backends.IBackendActors? _backends;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Dictionary<string, IActorRef> _routes = new();
    private readonly HashSet<string> _published = new();
    private readonly Dictionary<string, RouteSlot> _slots = new();

    public RouteManager(ProxConfig cfg, ProxSnapshotStore store, IHealthProber? prober, IRecoveryRunner? runner = null,
        Backends.IBackendActors? backends = null)
    {
        _backends = backends;
        // a restarted manager applies the config its predecessor last applied
        _cfg = store.Applied ?? cfg;
        _store = store;
        _prober = prober;
        _runner = runner;
        Receive<RouteSnapshotPublished>(OnPublished);
        Receive<GetProxStatus>(_ => ReplyStatus());
        Receive<Supervision.CrashActor>(OnCrash);
        Receive<ApplyRoutes>(OnApply);
        Receive<RouteDrained>(OnDrained);
    }

    public static Props Props(ProxConfig cfg, ProxSnapshotStore store, IHealthProber? prober = null, IRecoveryRunner? runner = null,
        Backends.IBackendActors? backends = null) =>
        Akka.Actor.Props.Create(() => new RouteManager(cfg, store, prober, runner, backends));

    protected override void PreStart()
    {
        foreach (var r in _cfg.Routes)
            StartRoute(r, _store.Table.Slots.FirstOrDefault(x => x.RouteId == r.Id));
        PublishTable();
        _store.Applied = _cfg;
        if (_cfg.Routes.IsEmpty) _store.MarkReady();
    }

    /// <param name="slot">The route's slot from before a restart of this manager (its state lives there); null = new route.</param>
    private void StartRoute(RouteConfig r, RouteSlot? slot)
    {
        var scheduler = Context.System.Scheduler;
        slot ??= new RouteSlot(r.Id);
        // a removed route may still be draining under its old name
        var generation = _generations.TryGetValue(r.Id, out var g) ? g + 1 : 1;
        _generations[r.Id] = generation;
        var name = "route-" + Uri.EscapeDataString(r.Id) + (generation == 1 ? "" : "@" + generation);
        _routes[r.Id] = Context.ActorOf(
            Supervision.Restarts.WithBackoff(RouteActor.Props(r, slot, _prober, _runner, _backends), name, ex => slot.Crashes.Record(ex, scheduler.Now)),
            name);
        _slots[r.Id] = slot;
    }

    private void PublishTable() =>
        _store.PublishTable(new RouteTable(_cfg.Routes.Select(r => (r.Match, _slots[r.Id]))));

    private void OnApply(ApplyRoutes msg)
    {
        var old = _cfg.Routes.ToDictionary(r => r.Id);
        var next = msg.Config;
        var added = new List<string>();
        var changed = new List<(IActorRef Route, UpdateRoute Update)>();
        foreach (var r in next.Routes)
        {
            if (!old.Remove(r.Id, out var before))
            {
                added.Add(r.Id);
                continue;
            }
            if (ConfigComparer.Same(before, r)) continue;
            // the slot carries the new config too: a route actor waiting out a restart backoff starts on it
            _slots[r.Id].Config = r;
            changed.Add((_routes[r.Id], new UpdateRoute(r, msg.DrainTimeout)));
        }

        _cfg = next;
        _store.Applied = next;
        foreach (var r in next.Routes.Where(r => added.Contains(r.Id)))
            StartRoute(r, null);
        // removed routes leave the table before they drain, so no new request reaches them
        foreach (var gone in old.Keys)
        {
            _routes.Remove(gone, out var actor);
            _slots.Remove(gone);
            _published.Remove(gone);
            actor!.Tell(new DrainRoute(msg.DrainTimeout));
        }
        PublishTable();

        _log.Info("Config applied: {Added} routes added, {Removed} removed, {Changed} changed",
            added.Count, old.Count, changed.Count);
        var summary = new ConfigApplied([.. added], [.. old.Keys], [.. changed.Select(c => c.Update.Config.Id)], []);
        Gather.AskAll<RouteUpdated>(changed.Select(c => c.Route).ToArray(), changed.Select(c => (object)c.Update).ToArray(),
            StatusTimeout, Sender, updates => summary with { Routes = [.. updates] },
            i => new RouteUpdated(changed[i].Update.Config.Id, 0, 0, 0, 0));
    }

    private void OnDrained(RouteDrained msg)
    {
        _log.Info("Route {RouteId} drained and stopped", msg.RouteId);
        Context.Stop(Sender); // the drained route's backoff supervisor, and with it the route
    }

    private void OnPublished(RouteSnapshotPublished msg)
    {
        if (_published.Add(msg.RouteId) && _published.Count == _routes.Count)
        {
            _log.Info("Ready: every route published its snapshot ({RouteCount} routes)", _routes.Count);
            _store.MarkReady();
        }
    }

    private void OnCrash(Supervision.CrashActor msg)
    {
        if (!_routes.TryGetValue(msg.RouteId, out var route))
        {
            Sender.Tell(new Supervision.CrashActorReply(false, $"no route '{msg.RouteId}'"));
            return;
        }
        route.Forward(msg);
    }

    private void ReplyStatus()
    {
        var routes = _cfg.Routes;
        var slots = _slots;
        Gather.AskAll<RouteStatus>(routes.Select(r => _routes[r.Id]), GetRouteStatus.Instance, StatusTimeout, Sender,
            statuses => new ProxStatus([.. statuses]),
            // a route actor waiting out its restart backoff: its last snapshot is still what serves
            i => Restarting(routes[i], slots[routes[i].Id].Current));
    }

    private static RouteStatus Restarting(RouteConfig r, RouteSnapshot? snap) =>
        new(r.Id, r.LoadBalancing.Name(), r.Match.PathPrefix, r.Match.Hosts.IsDefault ? [] : r.Match.Hosts,
            snap?.Eligible.Length ?? 0, snap?.Version ?? 0, []);
}
