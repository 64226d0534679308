using Prox.Actors.Config;
using Prox.Actors.Selection;
using Xunit;

namespace Prox.Tests.Selection;

public class RandomSelectorTests
{
    [Fact]
    public void Pick_Uniform100kPicks_EachNearAQuarter()
    {
        var eligible = Backends.WithWeights(10, 1, 1, 1);
        var selector = BackendSelectors.Create(LoadBalancingPolicy.Random, eligible, new Random(42));

        foreach (int count in Backends.Tally(selector, eligible, 100_000))
            Assert.InRange(count, 24_000, 26_000);
    }

    [Fact]
    public void Pick_Weighted100kPicks_ProportionalToWeight()
    {
        int[] weights = [5, 3, 2, 0];
        var eligible = Backends.WithWeights(weights);
        var selector = BackendSelectors.Create(LoadBalancingPolicy.WeightedRandom, eligible, new Random(42));

        int[] counts = Backends.Tally(selector, eligible, 100_000);

        // weight 0 counts as 1: shares are 5/11, 3/11, 2/11, 1/11
        double[] expected = [5 / 11.0, 3 / 11.0, 2 / 11.0, 1 / 11.0];
        for (int i = 0; i < counts.Length; i++)
            Assert.InRange(counts[i] / 100_000.0, expected[i] - 0.01, expected[i] + 0.01);
    }
}
