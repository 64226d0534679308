using Prox.Actors.Config;
using Prox.Actors.Selection;
using Xunit;

namespace Prox.Tests.Selection;

public class LeastConnectionsSelectorTests
{
    [Fact]
    public void Pick_OneIdleBackend_PicksIt()
    {
        var eligible = Backends.Count(3);
        Backends.SetInFlight(eligible[0], 4);
        Backends.SetInFlight(eligible[1], 0);
        Backends.SetInFlight(eligible[2], 2);
        var selector = BackendSelectors.Create(LoadBalancingPolicy.LeastConnections, eligible);

        Assert.Equal([0, 100, 0], Backends.Tally(selector, eligible, 100));
    }

    [Fact]
    public void Pick_AllIdle_SpreadsInsteadOfIndexZero()
    {
        var eligible = Backends.Count(4);
        var selector = BackendSelectors.Create(LoadBalancingPolicy.LeastConnections, eligible);

        Assert.Equal([25, 25, 25, 25], Backends.Tally(selector, eligible, 100));
    }

    [Fact]
    public void Pick_EqualInFlight_PrefersHigherWeight()
    {
        var eligible = Backends.WithWeights(1, 4, 2);
        foreach (var entry in eligible) Backends.SetInFlight(entry, 3);
        var selector = BackendSelectors.Create(LoadBalancingPolicy.LeastConnections, eligible);

        Assert.Equal([0, 30, 0], Backends.Tally(selector, eligible, 30));
    }

    [Fact]
    public void Pick_IdleBackendTried_PicksNextLeastLoaded()
    {
        var eligible = Backends.Count(3);
        Backends.SetInFlight(eligible[0], 4);
        Backends.SetInFlight(eligible[2], 2);
        var selector = BackendSelectors.Create(LoadBalancingPolicy.LeastConnections, eligible);
        var tried = new TriedSet();
        tried.Add(1);

        Assert.Equal(2, selector.Pick(eligible, tried));
    }
}
