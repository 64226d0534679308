using System.Collections.Immutable;
using Akka.Actor;
using Akka.Cluster.Tools.Singleton;
using Akka.Pattern;

namespace Prox.Actors.Webhooks;

/// <summary>
/// Cluster mode: the Notifier as a cluster singleton, so each event becomes one webhook cluster-wide. Every node runs
/// a <see cref="ClusterSingletonManager"/>; the oldest node runs the singleton: the same supervised Notifier as
/// standalone (<see cref="NotifierSupervision"/>, same persistence id, so the outbox lives in the shared PostgreSQL
/// journal). Events come from each node's <see cref="Events.ClusterEventRelay"/> through a
/// <see cref="ClusterSingletonProxy"/>, never from the local event stream.
/// </summary>
/// <remarks>
/// Handover (the oldest node leaves): the manager sends <see cref="NotifierHandover"/>; the Notifier handles it after
/// the events it is storing, then stops, and the supervisor stops with it instead of restarting it. The next oldest
/// node starts the Notifier, which replays the outbox from the journal and delivers what is still pending, from the
/// oldest. A POST that was in flight on the old node is sent again (same <c>Idempotency-Key</c>: at least once, as
/// after any restart). Meanwhile every node's proxy buffers events (up to 1000) and sends them to the new singleton.
/// When the oldest node crashes instead, events sent to it until it is removed are lost on the way or with it; each
/// node's relay keeps every event until the Notifier acknowledges it (<see cref="EventAccepted"/>) and sends it again,
/// and the Notifier ignores ids it already accepted, so those still become exactly one webhook.
/// </remarks>
public static class NotifierSingleton
{
    /// <summary>The manager's name under the calling actor; the same path on every node.</summary>
    public const string ManagerName = "notifier-singleton";

    /// <summary>Starts this node's singleton manager and proxy as children of the calling actor (the same parent path on
    /// every node) and returns the proxy: send it events and <see cref="GetWebhookStatus"/>.</summary>
    public static IActorRef Start(IActorContext context, ImmutableArray<WebhookConfig> hooks, IWebhookSender sender,
        NotifierOptions? options = null)
    {
        var system = context.System;
        context.ActorOf(ClusterSingletonManager.Props(
            Props(hooks, sender, options),
            NotifierHandover.Instance,
            ClusterSingletonManagerSettings.Create(system)), ManagerName);
        var managerPath = context.Self.Path.ToStringWithoutAddress() + "/" + ManagerName;
        return context.ActorOf(ClusterSingletonProxy.Props(managerPath, ClusterSingletonProxySettings.Create(system)),
            ManagerName + "-proxy");
    }

    /// <summary>The singleton: <see cref="NotifierSupervision.Props"/> with repeated states dropped, each event
    /// acknowledged to its relay (<see cref="EventAccepted"/>) and a supervisor
    /// that stops for good on <see cref="NotifierHandover"/>.</summary>
    public static Props Props(ImmutableArray<WebhookConfig> hooks, IWebhookSender sender, NotifierOptions? options = null) =>
        BackoffSupervisor.Props(NotifierSupervision.Backoff(hooks, sender,
                (options ?? NotifierOptions.Default) with { DropRepeatedStates = true, AcknowledgeEvents = true })
            .WithFinalStopMessage(m => m is NotifierHandover));
}

/// <summary>Local to the singleton's node: the Notifier is handing over to another node; it stops once the events it
/// is storing are stored (the outbox then continues from the journal on the new node).</summary>
public sealed record NotifierHandover
{
    public static readonly NotifierHandover Instance = new();
}
