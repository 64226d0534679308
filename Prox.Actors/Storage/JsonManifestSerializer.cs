using System.Runtime.Serialization;
using System.Text.Json;
using Akka.Actor;
using Akka.Serialization;

namespace Prox.Actors.Storage;

/// <summary>
/// System.Text.Json for a persistent actor's journal and snapshots, with stable manifests (not CLR type names), so
/// renaming or moving a class never strands stored data. Each persistent actor binds its own subclass, which names
/// its serializer id and its manifest ↔ type pairs.
/// </summary>
public abstract class JsonManifestSerializer : SerializerWithStringManifest
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private readonly string _owner;
    private readonly Dictionary<Type, string> _manifests;
    private readonly Dictionary<string, Type> _types;

    /// <param name="owner">Named in errors ("… is not a Notifier type").</param>
    protected JsonManifestSerializer(ExtendedActorSystem system, string owner, params (string Manifest, Type Type)[] bindings)
        : base(system)
    {
        _owner = owner;
        _manifests = bindings.ToDictionary(b => b.Type, b => b.Manifest);
        _types = bindings.ToDictionary(b => b.Manifest, b => b.Type);
    }

    public override string Manifest(object o) =>
        _manifests.TryGetValue(o.GetType(), out var manifest)
            ? manifest
            : throw new ArgumentException($"{o.GetType()} is not a {_owner} type", nameof(o));

    public override byte[] ToBinary(object obj)
    {
        Manifest(obj); // refuses foreign types
        return JsonSerializer.SerializeToUtf8Bytes(obj, obj.GetType(), Json);
    }

    public override object FromBinary(byte[] bytes, string manifest) =>
        _types.TryGetValue(manifest, out var type)
            ? JsonSerializer.Deserialize(bytes, type, Json) ?? throw new SerializationException($"empty {type.Name}")
            : throw new SerializationException($"unknown {_owner} manifest '{manifest}'");
}
