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
        foreach (var r in _cfg.Routes)
        {
            var slot = new RouteSlot(r.Id);
            _routes[r.Id] = Context.ActorOf(RouteActor.Props(r, slot, _prober, _runner), "route-" + Uri.EscapeDataString(r.Id));
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

    private void ReplyStatus() =>
        Gather.AskAll<RouteStatus>(_cfg.Routes.Select(r => _routes[r.Id]), GetRouteStatus.Instance, StatusTimeout, Sender,
            routes => new ProxStatus([.. routes]));
}
