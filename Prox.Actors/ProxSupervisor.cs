using Akka.Actor;
using Prox.Actors.Config;
using Prox.Actors.Events;
using Prox.Actors.Health;
using Prox.Actors.Recovery;
using Prox.Actors.Routing;
using Prox.Actors.Webhooks;

namespace Prox.Actors;

/// <summary>Root of Prox's actor tree. Owns the event log, the webhook Notifier (when webhooks are configured) and the RouteManager (later also the config store and key store).</summary>
public sealed class ProxSupervisor : ReceiveActor
{
    private IActorRef _routes = ActorRefs.Nobody;
    private IActorRef _events = ActorRefs.Nobody;
    private IActorRef? _notifier;

    public ProxSupervisor(ProxConfig cfg, ProxSnapshotStore store, IHealthProber? prober, IRecoveryRunner? runner = null,
        IWebhookSender? webhookSender = null)
    {
        Cfg = cfg;
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
    }

    private ProxConfig Cfg { get; }
    private ProxSnapshotStore Store { get; }
    private IHealthProber? Prober { get; }
    private IRecoveryRunner? Runner { get; }
    private IWebhookSender? WebhookSender { get; }

    /// <param name="webhookSender">Delivers webhooks; required when the config has any (the Notifier needs Akka.Persistence configured).</param>
    public static Props Props(ProxConfig cfg, ProxSnapshotStore store, IHealthProber? prober = null, IRecoveryRunner? runner = null,
        IWebhookSender? webhookSender = null) =>
        Akka.Actor.Props.Create(() => new ProxSupervisor(cfg, store, prober, runner, webhookSender));

    protected override void PreStart()
    {
        // the event log and the notifier first, so they hear the routes' first events
        _events = Context.ActorOf(EventLog.Props(), "events");
        if (!Cfg.Webhooks.IsEmpty)
            _notifier = NotifierSupervision.Start(Context, Cfg.Webhooks,
                WebhookSender ?? throw new InvalidOperationException("webhooks are configured but no IWebhookSender was given"));
        _routes = Context.ActorOf(RouteManager.Props(Cfg, Store, Prober, Runner), "routes");
    }
}
