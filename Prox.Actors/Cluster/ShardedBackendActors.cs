using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.Util;
using Prox.Actors.Backends;
using Prox.Actors.Config;
using Prox.Actors.Health;
using Prox.Actors.Recovery;
using Prox.Actors.Routing;

namespace Prox.Actors.Cluster;

/// <summary>
/// Cluster mode's <see cref="IBackendActors"/>: each backend's actor is a <see cref="BackendEntity"/> in the
/// <see cref="TypeName"/> shard region, and a route gets a <see cref="BackendLink"/> to it.
/// </summary>
public sealed class ShardedBackendActors(IActorRef region, ClusterBackendStats stats) : IBackendActors
{
    public const string TypeName = "prox-backend";

    /// <summary>Shards per cluster: ten per node for clusters of up to about ten nodes, as Akka recommends.</summary>
    public const int Shards = 100;

    public IActorRef Region { get; } = region;

    public ClusterBackendStats Stats { get; } = stats;

    public Props For(RouteConfig route, BackendMemory memory, IHealthProber? prober, IRecoveryRunner? runner) =>
        BackendLink.Props(Region, BackendKey.EntityId(route.Id, memory.Live.Id),
            BackendKey.Fingerprint(route, memory.Live.Config), memory, Stats);

    /// <summary>Starts this node's shard region (it hosts entities and routes messages to the others'). Call once,
    /// outside any actor: it waits for the sharding guardian.</summary>
    public static ShardedBackendActors Start(ActorSystem system, ProxSnapshotStore store, IHealthProber? prober, IRecoveryRunner? runner)
    {
        var stats = new ClusterBackendStats();
        var region = ClusterSharding.Get(system).Start(
            TypeName,
            entityId => BackendEntity.Props(entityId, store, prober, runner, stats),
            ClusterShardingSettings.Create(system),
            new Extractor(),
            new StickyShardAllocation(),
            PoisonPill.Instance);
        return new ShardedBackendActors(region, stats);
    }

    /// <summary>Entity id from the message; shard = a hash every node computes alike (MurmurHash, not
    /// <see cref="string.GetHashCode()"/>, which differs per process).</summary>
    private sealed class Extractor : IMessageExtractor
    {
        public string? EntityId(object message) => (message as IBackendEntityMessage)?.EntityId;

        public object? EntityMessage(object message) => message;

        public string? ShardId(object message) => message is IBackendEntityMessage m ? ShardOf(m.EntityId) : null;

        public string ShardId(string entityId, object? messageHint = null) => ShardOf(entityId);

        private static string ShardOf(string entityId) =>
            ((MurmurHash.StringHash(entityId) & int.MaxValue) % Shards).ToString(System.Globalization.CultureInfo.InvariantCulture);
    }
}
