namespace Prox.Actors.Cluster;

/// <summary>
/// A message that crosses nodes in cluster mode. Serialized by <see cref="ClusterSerializer"/> (System.Text.Json with
/// stable manifests), never by Akka's default (Newtonsoft with CLR type names). Every implementing type must be listed
/// in <see cref="ClusterSerializer.Bindings"/>.
/// </summary>
public interface IClusterMessage;
