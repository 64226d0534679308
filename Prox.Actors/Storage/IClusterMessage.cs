namespace Prox.Actors.Storage;

/// <summary>
/// A message that crosses nodes in cluster mode. Serialized by the cluster serializer (Cluster/ClusterSerializer.cs:
/// System.Text.Json with stable manifests), never by Akka's default (Newtonsoft with CLR type names). Every implementing
/// type must be listed in its bindings. It sits here, beside <see cref="JsonManifestSerializer"/>, so that the folders
/// whose messages cross nodes (Backends, Events, Webhooks, ConfigHistory) need not import Cluster, which imports them.
/// </summary>
public interface IClusterMessage;
