using Prox.Actors.Config;
using Prox.Actors.Selection;
using Xunit;

namespace Prox.Tests.Selection;

public class RoundRobinSelectorTests
{
    [Fact]
    public void Pick_Sequential_CyclesInIndexOrder()
    {
        var eligible = Backends.WithWeights(5, 1, 1);
        var selector = BackendSelectors.Create(LoadBalancingPolicy.RoundRobin, eligible);
        var tried = new TriedSet();

        var picks = Enumerable.Range(0, 6).Select(_ => selector.Pick(eligible, tried)).ToArray();

        Assert.Equal([0, 1, 2, 0, 1, 2], picks);
    }

    [Fact]
    public void Pick_ManyPicks_SpreadEvenlyIgnoringWeights()
    {
        var eligible = Backends.WithWeights(10, 1, 1, 1);
        var selector = BackendSelectors.Create(LoadBalancingPolicy.RoundRobin, eligible);

        Assert.Equal([2500, 2500, 2500, 2500], Backends.Tally(selector, eligible, 10_000));
    }

    [Fact]
    public void Pick_FourThreadsConcurrently_SpreadEvenly()
    {
        const int threads = 4, picksPerThread = 100_000, backends = 3;
        var eligible = Backends.Count(backends);
        var selector = BackendSelectors.Create(LoadBalancingPolicy.RoundRobin, eligible);
        using var start = new Barrier(threads);

        var perThread = new int[threads][];
        var workers = Enumerable.Range(0, threads).Select(t => new Thread(() =>
        {
            start.SignalAndWait();
            perThread[t] = Backends.Tally(selector, eligible, picksPerThread);
        })).ToArray();
        foreach (var worker in workers) worker.Start();
        foreach (var worker in workers) worker.Join();

        double expected = threads * picksPerThread / (double)backends;
        for (int b = 0; b < backends; b++)
        {
            int count = perThread.Sum(counts => counts[b]);
            Assert.InRange(count, expected * 0.99, expected * 1.01);
        }
    }
}
