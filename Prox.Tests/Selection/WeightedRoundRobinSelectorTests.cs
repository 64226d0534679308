using Prox.Actors.Config;
using Prox.Actors.Selection;
using Xunit;

namespace Prox.Tests.Selection;

public class WeightedRoundRobinSelectorTests
{
    [Fact]
    public void Pick_Weights511_FollowsNginxOrder()
    {
        var eligible = Backends.WithWeights(5, 1, 1);
        var selector = BackendSelectors.Create(LoadBalancingPolicy.WeightedRoundRobin, eligible);
        var tried = new TriedSet();

        var picks = Enumerable.Range(0, 14).Select(_ => selector.Pick(eligible, tried)).ToArray();

        // nginx documents a,a,b,a,c,a,a for {5,1,1}; the cycle then repeats
        Assert.Equal([0, 0, 1, 0, 2, 0, 0, 0, 0, 1, 0, 2, 0, 0], picks);
    }

    [Fact]
    public void Pick_Weights532Over1000_SplitsExactly()
    {
        var eligible = Backends.WithWeights(5, 3, 2);
        var selector = BackendSelectors.Create(LoadBalancingPolicy.WeightedRoundRobin, eligible);

        Assert.Equal([500, 300, 200], Backends.Tally(selector, eligible, 1000));
    }

    [Theory]
    [InlineData(new[] { 5, 3, 2 })]
    [InlineData(new[] { 5, 1, 1 })]
    [InlineData(new[] { 4, 3, 2, 1 })]
    [InlineData(new[] { 50, 30, 20 })]
    public void Pick_LighterBackends_NeverTwiceInARow(int[] weights)
    {
        var eligible = Backends.WithWeights(weights);
        var selector = BackendSelectors.Create(LoadBalancingPolicy.WeightedRoundRobin, eligible);
        var tried = new TriedSet();
        int heaviest = weights.Max();

        int previous = -1;
        for (int i = 0; i < 1000; i++)
        {
            int pick = selector.Pick(eligible, tried);
            // only the heaviest backend may repeat (e.g. at the cycle boundary); lighter ones are interleaved
            if (weights[pick] < heaviest) Assert.NotEqual(previous, pick);
            previous = pick;
        }
    }

    [Fact]
    public void BuildSchedule_WeightsWithCommonDivisor_ReducedByGcd()
    {
        Assert.Equal(WeightedRoundRobinSelector.BuildSchedule([5, 1, 1]),
            WeightedRoundRobinSelector.BuildSchedule([50, 10, 10]));
    }

    [Fact]
    public void BuildSchedule_HugeWeights_CappedAndEveryBackendPresent()
    {
        int[] schedule = WeightedRoundRobinSelector.BuildSchedule([1_000_000, 999_999, 1]);

        Assert.InRange(schedule.Length, 1, WeightedRoundRobinSelector.MaxScheduleLength + 3);
        Assert.Contains(2, schedule);
        int first = schedule.Count(i => i == 0), second = schedule.Count(i => i == 1);
        Assert.InRange(first / (double)second, 0.99, 1.01);
    }

    [Fact]
    public void BuildSchedule_NonPositiveWeight_CountsAsOne()
    {
        Assert.Equal([0, 1], WeightedRoundRobinSelector.BuildSchedule([0, -3]));
    }

    [Fact]
    public void Pick_TriedChoice_FallsBackToNextIndex()
    {
        var eligible = Backends.WithWeights(5, 1, 1);
        var selector = BackendSelectors.Create(LoadBalancingPolicy.WeightedRoundRobin, eligible);
        var tried = new TriedSet();
        tried.Add(0);

        // schedule a,a,b,a,c,a,a with a tried: a→b, a→b, b, a→b, c, a→b, a→b
        var picks = Enumerable.Range(0, 7).Select(_ => selector.Pick(eligible, tried)).ToArray();

        Assert.Equal([1, 1, 1, 1, 2, 1, 1], picks);
    }
}
