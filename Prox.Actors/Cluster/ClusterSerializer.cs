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
        // sharded backends: subscriptions, state updates, batched outcomes, status
        ("backend-subscribe.v1", typeof(BackendSubscribe)),
        ("backend-unsubscribe.v1", typeof(BackendUnsubscribe)),
        ("backend-outcomes.v1", typeof(OutcomeBatch)),
        ("backend-trial-outcome.v1", typeof(TrialOutcome)),
        ("backend-status-query.v1", typeof(BackendStatusQuery)),
        ("backend-state.v1", typeof(BackendStateUpdate)),
        ("backend-status.v1", typeof(Backends.BackendStatus)),
        ("backend-seed-request.v1", typeof(BackendSeedRequest)),
        ("backend-seed.v1", typeof(BackendSeed)),
        // the shared ConfigStore (a cluster singleton): commands, replies and published versions
        ("config-record.v1", typeof(ConfigHistory.RecordConfigVersion)),
        ("config-recorded.v1", typeof(ConfigHistory.ConfigVersionRecorded)),
        ("config-get-version.v1", typeof(ConfigHistory.GetConfigVersion)),
        ("config-version-reply.v1", typeof(ConfigHistory.ConfigVersionReply)),
        ("config-get-versions.v1", typeof(ConfigHistory.GetConfigVersions)),
        ("config-versions-page.v1", typeof(ConfigHistory.ConfigVersionsPage)),
        ("config-get-state.v1", typeof(ConfigHistory.GetConfigStoreState)),
        ("config-state.v1", typeof(ConfigHistory.ConfigStoreState)),
        ("config-published.v1", typeof(ConfigHistory.ConfigVersionPublished)),
        // webhook status, asked of the Notifier singleton by /status on any node
        ("webhook-status-get.v1", typeof(Webhooks.GetWebhookStatus)),
        ("webhook-status.v1", typeof(Webhooks.WebhookStatusReply)),
        // the Notifier singleton acknowledges each relayed event, so relays resend only what it has not stored
        ("event-accepted.v1", typeof(Events.EventAccepted)),
    ];

    /// <summary>Registers the serializer and binds <see cref="IClusterMessage"/> to it.</summary>
    public const string Hocon = """
        akka.actor {
          serializers { prox-cluster = "Prox.Actors.Cluster.ClusterSerializer, Prox.Actors" }
          serialization-bindings { "Prox.Actors.Storage.IClusterMessage, Prox.Actors" = prox-cluster }
        }
        """;

    public override int Identifier => Id;
}
