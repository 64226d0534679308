namespace Prox.Actors;

/// <summary>
/// A message that crosses nodes in cluster mode. Serialized by <see cref="Cluster.ClusterSerializer"/> (System.Text.Json with
/// stable manifests), never by Akka's default (Newtonsoft with CLR type names). Every implementing type must be listed
/// in <see cref="Cluster.ClusterSerializer.Bindings"/>.
/// </summary>
public interface IClusterMessage;
