using Prox.Actors.Config;
using Prox.Actors.Selection;
using Xunit;

namespace Prox.Tests.Selection;

public class LeastLatencySelectorTests
{
    [Fact]
    public void Pick_OneFastBackend_PreferredButOthersStillSampled()
    {
        var eligible = Backends.Count(3);
        eligible[0].Live.EwmaMicros = 1_000;
        eligible[1].Live.EwmaMicros = 20_000;
        eligible[2].Live.EwmaMicros = 30_000;
        var selector = BackendSelectors.Create(LoadBalancingPolicy.LeastLatency, eligible, new Random(7));

        int[] counts = Backends.Tally(selector, eligible, 3_000);

        // the fast one is in 2 of every 3 pairs and wins them all; 1 beats 2 in the rest
        Assert.InRange(counts[0], 1_900, 2_100);
        Assert.InRange(counts[1], 900, 1_100);
        Assert.Equal(0, counts[2]);
    }

    [Fact]
    public void Pick_FastBackendLoaded_PicksSlowOne()
    {
        var eligible = Backends.Count(2);
        eligible[0].Live.EwmaMicros = 1_000;
        eligible[1].Live.EwmaMicros = 10_000;
        var selector = BackendSelectors.Create(LoadBalancingPolicy.LeastLatency, eligible, new Random(7));
        var tried = new TriedSet();

        Assert.Equal(0, selector.Pick(eligible, tried));

        // 1 ms × 21 in flight scores worse than 10 ms × 1
        Backends.SetInFlight(eligible[0], 20);
        Assert.Equal(1, selector.Pick(eligible, tried));
    }

    [Fact]
    public void Pick_UnmeasuredBackend_Favoured()
    {
        var eligible = Backends.Count(2);
        eligible[0].Live.EwmaMicros = 50;
        var selector = BackendSelectors.Create(LoadBalancingPolicy.LeastLatency, eligible, new Random(7));

        Assert.Equal([0, 100], Backends.Tally(selector, eligible, 100));
    }
}
