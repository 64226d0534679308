using Akka.Actor;
using Prox.Actors.Config;
using Prox.Actors.Routing;

namespace Prox.Actors;

/// <summary>Root of Prox's actor tree. Owns the RouteManager (and, later, config store, notifier, key store).</summary>
public sealed class ProxSupervisor : ReceiveActor
{
    private IActorRef _routes = ActorRefs.Nobody;

    public ProxSupervisor(ProxConfig cfg, ProxSnapshotStore store)
    {
        Cfg = cfg;
        Store = store;
        Receive<GetProxStatus>(msg => _routes.Forward(msg));
    }

    private ProxConfig Cfg { get; }
    private ProxSnapshotStore Store { get; }

    public static Props Props(ProxConfig cfg, ProxSnapshotStore store) =>
        Akka.Actor.Props.Create(() => new ProxSupervisor(cfg, store));

    protected override void PreStart() => _routes = Context.ActorOf(RouteManager.Props(Cfg, Store), "routes");
}
