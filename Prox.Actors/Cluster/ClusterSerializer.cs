using Akka.Actor;

namespace Prox.Actors.Cluster;

/// <summary>
/// <see cref="Storage.JsonManifestSerializer"/> for the messages nodes send each other (<see cref="IClusterMessage"/>):
/// stable manifests, so nodes of different builds can still talk as long as the manifests and fields agree.
/// Bound in HOCON by <see cref="Hocon"/> (cluster mode only).
/// </summary>
public sealed class ClusterSerializer(ExtendedActorSystem system)
    : Storage.JsonManifestSerializer(system, "cluster message", Bindings)
{
    public const int Id = 4103;

    /// <summary>Manifest ↔ type of every <see cref="IClusterMessage"/>. A type missing here fails its first send with
    /// "… is not a cluster message type" (a test sends one of each).</summary>
    public static readonly (string Manifest, Type Type)[] Bindings =
    [
        ("prox-event.v1", typeof(Events.ProxEvent)),
        ("webhook-status-get.v1", typeof(Webhooks.GetWebhookStatus)),
        ("webhook-status.v1", typeof(Webhooks.WebhookStatusReply)),
    ];

    /// <summary>Registers the serializer and binds <see cref="IClusterMessage"/> to it.</summary>
    public const string Hocon = """
        akka.actor {
          serializers { prox-cluster = "Prox.Actors.Cluster.ClusterSerializer, Prox.Actors" }
          serialization-bindings { "Prox.Actors.Cluster.IClusterMessage, Prox.Actors" = prox-cluster }
        }
        """;

    public override int Identifier => Id;
}
