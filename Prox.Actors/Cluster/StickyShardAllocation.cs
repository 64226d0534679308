using System.Collections.Immutable;
using Akka.Actor;
using Akka.Cluster.Sharding;

namespace Prox.Actors.Cluster;

/// <summary>
/// Where backend shards go: a new shard to the node with the fewest (the asking node among equals, so a backend a node
/// asks for first tends to be probed from there), and never moved while its node is up. Akka's default strategy
/// rebalances when nodes join, and a moved entity starts afresh: a scale-out would close open breakers and forget
/// ejections and health history. Probing is cheap, so an even spread is worth less than stable state; shards move
/// only when their node leaves or is downed.
/// </summary>
public sealed class StickyShardAllocation : IShardAllocationStrategy
{
    public Task<IActorRef> AllocateShard(IActorRef requester, string shardId,
        IImmutableDictionary<IActorRef, IImmutableList<string>> currentShardAllocations)
    {
        if (currentShardAllocations.Count == 0) return Task.FromResult(requester);
        var fewest = currentShardAllocations.Min(a => a.Value.Count);
        if (currentShardAllocations.TryGetValue(requester, out var own) && own.Count == fewest) return Task.FromResult(requester);
        // ties broken by address, so every coordinator incarnation decides alike
        var region = currentShardAllocations.Where(a => a.Value.Count == fewest)
            .OrderBy(a => a.Key.Path.ToString(), StringComparer.Ordinal).First().Key;
        return Task.FromResult(region);
    }

    public Task<IImmutableSet<string>> Rebalance(IImmutableDictionary<IActorRef, IImmutableList<string>> currentShardAllocations,
        IImmutableSet<string> rebalanceInProgress) =>
        Task.FromResult<IImmutableSet<string>>(ImmutableHashSet<string>.Empty);
}
