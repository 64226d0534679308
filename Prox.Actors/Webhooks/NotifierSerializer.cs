using System.Runtime.Serialization;
using System.Text.Json;
using Akka.Actor;
using Akka.Serialization;

namespace Prox.Actors.Webhooks;

/// <summary>
/// System.Text.Json for the Notifier's journal and snapshots, with stable manifests (not CLR type names), so
/// renaming or moving a class never strands stored events. Bound in HOCON by <see cref="Hocon"/>.
/// </summary>
public sealed class NotifierSerializer(ExtendedActorSystem system) : SerializerWithStringManifest(system)
{
    public const int Id = 4101;
    public const string EnqueuedManifest = "webhook-enqueued.v1";
    public const string DeliveredManifest = "webhook-delivered.v1";
    public const string SnapshotManifest = "notifier-snapshot.v1";

    /// <summary>Registers the serializer and binds <see cref="INotifierPersisted"/> to it.</summary>
    public const string Hocon = """
        akka.actor {
          serializers { prox-notifier = "Prox.Actors.Webhooks.NotifierSerializer, Prox.Actors" }
          serialization-bindings { "Prox.Actors.Webhooks.INotifierPersisted, Prox.Actors" = prox-notifier }
        }
        """;

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public override int Identifier => Id;

    public override string Manifest(object o) => o switch
    {
        WebhookEnqueued => EnqueuedManifest,
        WebhookDelivered => DeliveredManifest,
        NotifierSnapshot => SnapshotManifest,
        _ => throw new ArgumentException($"{o.GetType()} is not a Notifier type", nameof(o)),
    };

    public override byte[] ToBinary(object obj)
    {
        Manifest(obj); // refuses foreign types
        return JsonSerializer.SerializeToUtf8Bytes(obj, obj.GetType(), Json);
    }

    public override object FromBinary(byte[] bytes, string manifest) => manifest switch
    {
        EnqueuedManifest => Read<WebhookEnqueued>(bytes),
        DeliveredManifest => Read<WebhookDelivered>(bytes),
        SnapshotManifest => Read<NotifierSnapshot>(bytes),
        _ => throw new SerializationException($"unknown Notifier manifest '{manifest}'"),
    };

    private static T Read<T>(byte[] bytes) =>
        JsonSerializer.Deserialize<T>(bytes, Json) ?? throw new SerializationException($"empty {typeof(T).Name}");
}
