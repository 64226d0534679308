using Akka.Actor;
using Prox.Actors.Config;
using Prox.Actors.ConfigHistory;
using Prox.Actors.Events;
using Prox.Actors.Health;
using Prox.Actors.Recovery;
using Prox.Actors.Routing;
using Prox.Actors.Webhooks;

namespace Prox.Actors;

/// <summary>Root of Prox's actor tree. Owns the event log, the ConfigStore, the webhook Notifier (when webhooks are
/// configured) and the RouteManager (later also the key store). In cluster mode the ConfigStore and the Notifier are
/// cluster singletons reached through proxies, an event relay shares this node's events, and the routes' backends are
/// sharded entities (<see cref="Backends.IBackendActors"/>); see docs/cluster.md.</summary>
public sealed class ProxSupervisor : ReceiveActor
{
    private IActorRef _routes = ActorRefs.Nobody;
    private IActorRef _events = ActorRefs.Nobody;
    private IActorRef? _notifier;
    private IActorRef? _relay;
    private IActorRef? _configStore;
    private bool _started;

    public ProxSupervisor(ProxConfig cfg, ProxSnapshotStore store, IHealthProber? prober, IRecoveryRunner? runner = null,
        IWebhookSender? webhookSender = null, bool withConfigStore = false, bool deferRoutes = false,
        Backends.IBackendActors? backends = null)
    {
        Backends = backends;
        Cfg = cfg;
        WithConfigStore = withConfigStore;
        DeferRoutes = deferRoutes;
        Store = store;
        Prober = prober;
        Runner = runner;
        WebhookSender = webhookSender;
        Receive<GetWebhookStatus>(msg =>
        {
            if (_notifier is null) Sender.Tell(WebhookStatusReply.Empty);
            else _notifier.Forward(msg);
        });
        Receive<GetProxStatus>(msg => _routes.Forward(msg));
        Receive<GetEvents>(msg => _events.Forward(msg));
        Receive<Supervision.CrashActor>(msg => _routes.Forward(msg));
        Receive<ApplyRoutes>(msg => _routes.Forward(msg));
        Receive<IConfigStoreCommand>(msg =>
        {
            // created on first use, so the host can start the journal plugins one after the other first
            // (started together on a new SQLite file, their table creation collides and one waits out a busy retry)
            if (WithConfigStore)
                _configStore ??= Cfg.Cluster.Enabled
                    ? SharedConfigStore.Start(Context, Cfg.ConfigHistory.Keep) // one store for all nodes: a singleton
                    : Context.ActorOf(ConfigStore.Supervised(Cfg.ConfigHistory.Keep), "config");
            // without a store (no persistence) nothing answers: admin asks time out into a 503
            _configStore?.Forward(msg);
        });
        Receive<StartRoutes>(msg =>
        {
            if (!_started) StartServing(msg.Config);
            Sender.Tell(RoutesStarted.Instance);
        });
    }

    private ProxConfig Cfg { get; }
    private ProxSnapshotStore Store { get; }
    private IHealthProber? Prober { get; }
    private IRecoveryRunner? Runner { get; }
    private IWebhookSender? WebhookSender { get; }
    private bool WithConfigStore { get; }
    private bool DeferRoutes { get; }
    private Backends.IBackendActors? Backends { get; }

    /// <param name="webhookSender">Delivers webhooks; required when the config has any (the Notifier needs Akka.Persistence configured).</param>
    /// <param name="withConfigStore">Run the ConfigStore (needs Akka.Persistence configured); it starts with the first
    /// message for it.</param>
    /// <param name="backends">Resolves each backend's actor (cluster mode: sharded entities); null = standalone.</param>
    /// <param name="deferRoutes">Start routes and Notifier only on <see cref="StartRoutes"/>, so the host can first ask
    /// the ConfigStore which config to start on.</param>
    public static Props Props(ProxConfig cfg, ProxSnapshotStore store, IHealthProber? prober = null, IRecoveryRunner? runner = null,
        IWebhookSender? webhookSender = null, bool withConfigStore = false, bool deferRoutes = false,
        Backends.IBackendActors? backends = null) =>
        Akka.Actor.Props.Create(() => new ProxSupervisor(cfg, store, prober, runner, webhookSender, withConfigStore, deferRoutes, backends));

    protected override void PreStart()
    {
        _events = Context.ActorOf(EventLog.Props(cluster: Cfg.Cluster.Enabled), "events");
        // cluster mode: this node's events reach the cluster (every EventLog, the Notifier singleton) through the relay
        if (Cfg.Cluster.Enabled)
            _relay = Context.ActorOf(ClusterEventRelay.Props(Akka.Cluster.Cluster.Get(Context.System).SelfAddress.ToString()),
                "event-relay");
        if (!DeferRoutes) StartServing(Cfg);
    }

    private void StartServing(ProxConfig cfg)
    {
        _started = true;
        // the notifier before the routes, so it hears their first events
        if (!cfg.Webhooks.IsEmpty)
        {
            var sender = WebhookSender ?? throw new InvalidOperationException("webhooks are configured but no IWebhookSender was given");
            if (_relay is null)
                _notifier = NotifierSupervision.Start(Context, cfg.Webhooks, sender);
            else
            {
                _notifier = NotifierSingleton.Start(Context, cfg.Webhooks, sender);
                _relay.Tell(new RelayToNotifier(_notifier));
            }
        }
        _routes = Context.ActorOf(RouteManager.Props(cfg, Store, Prober, Runner, Backends), "routes");
    }
}
