using Akka.Actor;
using Prox.Actors.Config;
using Prox.Actors.Events;
using Prox.Actors.Health;
using Prox.Actors.Recovery;
using Prox.Actors.Routing;

namespace Prox.Actors;

/// <summary>Root of Prox's actor tree. Owns the RouteManager (and, later, config store, notifier, key store).</summary>
public sealed class ProxSupervisor : ReceiveActor
{
    private IActorRef _routes = ActorRefs.Nobody;
    private IActorRef _events = ActorRefs.Nobody;

    public ProxSupervisor(ProxConfig cfg, ProxSnapshotStore store, IHealthProber? prober, IRecoveryRunner? runner = null)
    {
        Cfg = cfg;
        Store = store;
        Prober = prober;
        Runner = runner;
        Receive<GetProxStatus>(msg => _routes.Forward(msg));
        Receive<GetEvents>(msg => _events.Forward(msg));
        Receive<Supervision.CrashActor>(msg => _routes.Forward(msg));
        Receive<ApplyRoutes>(msg => _routes.Forward(msg));
    }

    private ProxConfig Cfg { get; }
    private ProxSnapshotStore Store { get; }
    private IHealthProber? Prober { get; }
    private IRecoveryRunner? Runner { get; }

    public static Props Props(ProxConfig cfg, ProxSnapshotStore store, IHealthProber? prober = null, IRecoveryRunner? runner = null) =>
        Akka.Actor.Props.Create(() => new ProxSupervisor(cfg, store, prober, runner));

    protected override void PreStart()
    {
        // the event log first, so it hears the routes' first events
        _events = Context.ActorOf(EventLog.Props(), "events");
        _routes = Context.ActorOf(RouteManager.Props(Cfg, Store, Prober, Runner), "routes");
    }
}
