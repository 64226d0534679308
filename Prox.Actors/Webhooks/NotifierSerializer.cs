using Akka.Actor;

namespace Prox.Actors.Webhooks;

/// <summary>
/// <see cref="Storage.JsonManifestSerializer"/> for the Notifier's journal and snapshots, with stable manifests (not CLR type names), so
/// renaming or moving a class never strands stored events. Bound in HOCON by <see cref="Hocon"/>.
/// </summary>
public sealed class NotifierSerializer(ExtendedActorSystem system)
    : Storage.JsonManifestSerializer(system, "Notifier", (EnqueuedManifest, typeof(WebhookEnqueued)), (DeliveredManifest, typeof(WebhookDelivered)), (SnapshotManifest, typeof(NotifierSnapshot)),
        (AnnouncedManifest, typeof(StateAnnounced)))
{
    public const int Id = 4101;
    public const string EnqueuedManifest = "webhook-enqueued.v1";
    public const string DeliveredManifest = "webhook-delivered.v1";
    public const string SnapshotManifest = "notifier-snapshot.v1";
    public const string AnnouncedManifest = "state-announced.v1";

    /// <summary>Registers the serializer and binds <see cref="INotifierPersisted"/> to it.</summary>
    public const string Hocon = """
        akka.actor {
          serializers { prox-notifier = "Prox.Actors.Webhooks.NotifierSerializer, Prox.Actors" }
          serialization-bindings { "Prox.Actors.Webhooks.INotifierPersisted, Prox.Actors" = prox-notifier }
        }
        """;

    public override int Identifier => Id;
}
