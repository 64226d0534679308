using System.Collections.Immutable;
using Akka.Actor;
using Akka.Pattern;
using Prox.Actors.Events;

namespace Prox.Actors.Webhooks;

/// <summary>
/// The Notifier under a <see cref="BackoffSupervisor"/>: a persistent actor stops when its journal fails, and this
/// starts it again (1 s doubling to 30 s, ±20%), replaying the outbox. Messages to it are forwarded to the Notifier.
/// </summary>
public static class NotifierSupervision
{
    /// <summary>
    /// Starts the supervised Notifier as a child of the calling actor and subscribes it to <see cref="ProxEvent"/>s at
    /// once. Subscribing here rather than in the Notifier's own PreStart matters: a persistent actor's PreStart waits for
    /// its journal plugin to start (seconds on a cold SQLite), and events published meanwhile would be missed; these
    /// wait in its mailbox instead. Events published while the Notifier is down after a journal failure are lost:
    /// they could not have been stored anyway.
    /// </summary>
    public static IActorRef Start(IActorContext context, ImmutableArray<WebhookConfig> hooks, IWebhookSender sender,
        string name = "notifier", NotifierOptions? options = null)
    {
        var notifier = context.ActorOf(Props(hooks, sender, options), name);
        context.System.EventStream.Subscribe(notifier, typeof(ProxEvent));
        return notifier;
    }

    public static Props Props(ImmutableArray<WebhookConfig> hooks, IWebhookSender sender, NotifierOptions? options = null) =>
        BackoffSupervisor.Props(Backoff(hooks, sender, options));

    /// <summary>The supervision options, shared with <see cref="NotifierSingleton"/> (which adds a final stop message).</summary>
    public static BackoffOptions Backoff(ImmutableArray<WebhookConfig> hooks, IWebhookSender sender, NotifierOptions? options = null) =>
        Akka.Pattern.Backoff.OnStop(
            Notifier.Props(hooks, sender, options),
            "outbox",
            TimeSpan.FromSeconds(1),
            TimeSpan.FromSeconds(30),
            0.2,
            -1); // no limit: webhooks must keep working as long as Prox runs
}
