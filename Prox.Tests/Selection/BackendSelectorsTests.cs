using Prox.Actors.Config;
using Prox.Actors.Selection;
using Xunit;

namespace Prox.Tests.Selection;

public class BackendSelectorsTests
{
    public static TheoryData<LoadBalancingPolicy> Policies => [.. Enum.GetValues<LoadBalancingPolicy>()];

    [Theory, MemberData(nameof(Policies))]
    public void Pick_SomeTried_NeverReturnsTried(LoadBalancingPolicy policy)
    {
        var eligible = Backends.WithWeights(5, 1, 3, 1, 2);
        eligible[0].Live.EwmaMicros = 100;
        eligible[2].Live.EwmaMicros = 100;
        var selector = BackendSelectors.Create(policy, eligible, new Random(1));
        var tried = new TriedSet();
        tried.Add(0);
        tried.Add(2);

        var seen = new HashSet<int>();
        for (int i = 0; i < 1000; i++) seen.Add(selector.Pick(eligible, tried));

        Assert.Subset(new HashSet<int> { 1, 3, 4 }, seen);
    }

    [Theory, MemberData(nameof(Policies))]
    public void Pick_AllButOneTried_ReturnsTheOne(LoadBalancingPolicy policy)
    {
        var eligible = Backends.WithWeights(5, 1, 3, 1);
        var selector = BackendSelectors.Create(policy, eligible, new Random(1));
        var tried = new TriedSet();
        tried.Add(0);
        tried.Add(1);
        tried.Add(3);

        for (int i = 0; i < 100; i++) Assert.Equal(2, selector.Pick(eligible, tried));
    }

    [Theory, MemberData(nameof(Policies))]
    public void Pick_AllTried_ReturnsMinusOne(LoadBalancingPolicy policy)
    {
        var eligible = Backends.Count(3);
        var selector = BackendSelectors.Create(policy, eligible, new Random(1));
        var tried = new TriedSet();
        for (int i = 0; i < 3; i++) tried.Add(i);

        for (int i = 0; i < 10; i++) Assert.Equal(-1, selector.Pick(eligible, tried));
    }

    [Theory, MemberData(nameof(Policies))]
    public void Pick_Empty_ReturnsMinusOne(LoadBalancingPolicy policy)
    {
        var selector = BackendSelectors.Create(policy, [], new Random(1));

        Assert.Equal(-1, selector.Pick([], new TriedSet()));
    }

    [Theory, MemberData(nameof(Policies))]
    public void Pick_SingleBackend_AlwaysIt(LoadBalancingPolicy policy)
    {
        var eligible = Backends.Count(1);
        var selector = BackendSelectors.Create(policy, eligible, new Random(1));

        Assert.Equal([50], Backends.Tally(selector, eligible, 50));
    }

    [Theory, MemberData(nameof(Policies))]
    public void Pick_MoreThan64Backends_ExcludesHighTriedIndexes(LoadBalancingPolicy policy)
    {
        var eligible = Backends.Count(70);
        var selector = BackendSelectors.Create(policy, eligible, new Random(1));
        var tried = new TriedSet();
        for (int i = 0; i < 70; i++)
            if (i != 68) tried.Add(i);

        for (int i = 0; i < 20; i++) Assert.Equal(68, selector.Pick(eligible, tried));
    }

    [Theory, MemberData(nameof(Policies))]
    public void Pick_10kPicks_AllocatesNothing(LoadBalancingPolicy policy)
    {
        var eligible = Backends.WithWeights(5, 3, 2, 1);
        eligible[1].Live.EwmaMicros = 2_000;
        var selector = BackendSelectors.Create(policy, eligible);
        var tried = new TriedSet();
        tried.Add(1);
        int sink = 0;
        // warm up: JIT tiers and Random.Shared's per-thread instance may allocate once
        for (int i = 0; i < 10_000; i++) sink += selector.Pick(eligible, tried);

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 10_000; i++) sink += selector.Pick(eligible, tried);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(0, allocated);
        Assert.True(sink > 0);
    }

    [Fact]
    public void Create_EveryPolicy_Builds()
    {
        var eligible = Backends.Count(2);
        foreach (var policy in Enum.GetValues<LoadBalancingPolicy>())
            Assert.NotNull(BackendSelectors.Create(policy, eligible));
    }
}
