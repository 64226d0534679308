using System.Collections.Immutable;
using Akka.Actor;
using Akka.Event;
using Prox.Actors.Config;
using Prox.Actors.Health;
using Prox.Actors.Recovery;

namespace Prox.Actors.Routing;

/// <summary>
/// Creates a RouteActor per configured route, publishes the route table the request path matches
/// against, and marks the store ready once every route has published its first snapshot.
/// </summary>
public sealed class RouteManager : ReceiveActor
{
    private static readonly TimeSpan StatusTimeout = TimeSpan.FromSeconds(4);

    private readonly ProxConfig _cfg;
    private readonly ProxSnapshotStore _store;
    private readonly IHealthProber? _prober;
    private readonly IRecoveryRunner? _runner;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Dictionary<string, IActorRef> _routes = new();
    private readonly HashSet<string> _published = new();
    private readonly Dictionary<string, RouteSlot> _slots = new();

    public RouteManager(ProxConfig cfg, ProxSnapshotStore store, IHealthProber? prober, IRecoveryRunner? runner = null)
    {
        _cfg = cfg;
        _store = store;
        _prober = prober;
        _runner = runner;
        Receive<RouteSnapshotPublished>(OnPublished);
        Receive<GetProxStatus>(_ => ReplyStatus());
        Receive<Supervision.CrashActor>(OnCrash);
    }

    public static Props Props(ProxConfig cfg, ProxSnapshotStore store, IHealthProber? prober = null, IRecoveryRunner? runner = null) =>
        Akka.Actor.Props.Create(() => new RouteManager(cfg, store, prober, runner));

    protected override void PreStart()
    {
        var entries = new List<(RouteMatch, RouteSlot)>();
        var scheduler = Context.System.Scheduler;
        foreach (var r in _cfg.Routes)
        {
            // a restarted manager finds its routes' slots (and the backend state in them) in the store
            var slot = _store.Table.Slots.FirstOrDefault(x => x.RouteId == r.Id) ?? new RouteSlot(r.Id);
            var name = "route-" + Uri.EscapeDataString(r.Id);
            _routes[r.Id] = Context.ActorOf(
                Supervision.Restarts.WithBackoff(RouteActor.Props(r, slot, _prober, _runner), name, ex => slot.RecordCrash(ex, scheduler.Now)),
                name);
            _slots[r.Id] = slot;
            entries.Add((r.Match, slot));
        }
        _store.PublishTable(new RouteTable(entries));
        if (_cfg.Routes.IsEmpty) _store.MarkReady();
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
