using System.Collections.Immutable;
using Akka.Actor;
using Akka.TestKit.Xunit2;
using Prox.Actors.Cluster;
using Xunit;

namespace Prox.Tests.Cluster;

public sealed class StickyShardAllocationTests : TestKit
{
    private static IImmutableDictionary<IActorRef, IImmutableList<string>> Allocations(params (IActorRef Region, string[] Shards)[] regions) =>
        regions.ToImmutableDictionary(r => r.Region, r => (IImmutableList<string>)r.Shards.ToImmutableList());

    [Fact]
    public async Task NewShard_GoesToTheRegionWithFewest_TheAskerAmongEquals()
    {
        var (a, b, c) = (CreateTestProbe().Ref, CreateTestProbe().Ref, CreateTestProbe().Ref);
        var strategy = new StickyShardAllocation();

        Assert.Equal(b, await strategy.AllocateShard(a, "9", Allocations((a, ["1", "2"]), (b, []), (c, ["3"]))));
        Assert.Equal(c, await strategy.AllocateShard(c, "9", Allocations((a, ["1"]), (b, ["2"]), (c, ["3"]))));
        Assert.Equal(a, await strategy.AllocateShard(a, "9", Allocations()));
    }

    [Fact]
    public async Task NothingIsEverRebalanced_EvenWhenUneven()
    {
        var (a, b) = (CreateTestProbe().Ref, CreateTestProbe().Ref);
        var moved = await new StickyShardAllocation().Rebalance(
            Allocations((a, ["1", "2", "3", "4", "5"]), (b, [])), ImmutableHashSet<string>.Empty);
        Assert.Empty(moved);
    }
}
