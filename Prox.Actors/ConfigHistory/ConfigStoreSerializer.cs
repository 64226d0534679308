using System.Runtime.Serialization;
using System.Text.Json;
using Akka.Actor;
using Akka.Serialization;

namespace Prox.Actors.ConfigHistory;

/// <summary>
/// System.Text.Json for the ConfigStore's journal and snapshots, with stable manifests (not CLR type names), so
/// renaming or moving a class never strands stored versions. Bound in HOCON by <see cref="Hocon"/>.
/// </summary>
public sealed class ConfigStoreSerializer(ExtendedActorSystem system) : SerializerWithStringManifest(system)
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

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public override int Identifier => Id;

    public override string Manifest(object o) => o switch
    {
        ConfigVersionAdded => AddedManifest,
        ConfigStoreSnapshot => SnapshotManifest,
        _ => throw new ArgumentException($"{o.GetType()} is not a ConfigStore type", nameof(o)),
    };

    public override byte[] ToBinary(object obj)
    {
        Manifest(obj); // refuses foreign types
        return JsonSerializer.SerializeToUtf8Bytes(obj, obj.GetType(), Json);
    }

    public override object FromBinary(byte[] bytes, string manifest) => manifest switch
    {
        AddedManifest => Read<ConfigVersionAdded>(bytes),
        SnapshotManifest => Read<ConfigStoreSnapshot>(bytes),
        _ => throw new SerializationException($"unknown ConfigStore manifest '{manifest}'"),
    };

    private static T Read<T>(byte[] bytes) =>
        JsonSerializer.Deserialize<T>(bytes, Json) ?? throw new SerializationException($"empty {typeof(T).Name}");
}
