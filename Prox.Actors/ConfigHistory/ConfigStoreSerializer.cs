using Akka.Actor;

namespace Prox.Actors.ConfigHistory;

/// <summary>
/// <see cref="Storage.JsonManifestSerializer"/> for the ConfigStore's journal and snapshots, with stable manifests (not CLR type names), so
/// renaming or moving a class never strands stored versions. Bound in HOCON by <see cref="Hocon"/>.
/// </summary>
public sealed class ConfigStoreSerializer(ExtendedActorSystem system)
    : Storage.JsonManifestSerializer(system, "ConfigStore", (AddedManifest, typeof(ConfigVersionAdded)), (SnapshotManifest, typeof(ConfigStoreSnapshot)))
{
    public const int Id = 4102;
    public const string AddedManifest = "config-version-added.v1";
    public const string SnapshotManifest = "config-store-snapshot.v1";

    /// <summary>Registers the serializer and binds <see cref="IConfigStorePersisted"/> to it.</summary>
    public const string Hocon = """
        akka.actor {
          serializers { prox-config = "Prox.Actors.ConfigHistory.ConfigStoreSerializer, Prox.Actors" }
          serialization-bindings { "Prox.Actors.ConfigHistory.IConfigStorePersisted, Prox.Actors" = prox-config }
        }
        """;

    public override int Identifier => Id;
}
