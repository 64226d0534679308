using System.Collections.Immutable;
using Akka.Actor;
using Akka.Pattern;

namespace Prox.Actors.Webhooks;

/// <summary>
/// The Notifier under a <see cref="BackoffSupervisor"/>: a persistent actor stops when its journal fails, and this
/// starts it again (1 s doubling to 30 s, ±20%), replaying the outbox. Messages to it are forwarded to the Notifier.
/// </summary>
public static class NotifierSupervision
{
    public static Props Props(ImmutableArray<WebhookConfig> hooks, IWebhookSender sender, NotifierOptions? options = null) =>
        BackoffSupervisor.Props(Backoff.OnStop(
            Notifier.Props(hooks, sender, options),
            "outbox",
            TimeSpan.FromSeconds(1),
            TimeSpan.FromSeconds(30),
            0.2,
            -1)); // no limit: webhooks must keep working as long as Prox runs
}
