using System.Collections.Immutable;
using Prox.Actors.Config;

namespace Prox.Actors.Selection;

/// <summary>
/// Picks a backend from a route's eligible set. Implementations are built once per snapshot
/// (precomputing schedules or prefix sums) and then called concurrently by many requests:
/// they must be lock-free and allocation-free per pick.
/// </summary>
public interface IBackendSelector
{
    /// <summary>Index into <paramref name="eligible"/> of the chosen backend, never one in
    /// <paramref name="tried"/>; -1 when every eligible backend has been tried (or none exist).</summary>
    int Pick(ImmutableArray<BackendEntry> eligible, in TriedSet tried);
}

/// <summary>Which eligible indexes a request has already tried. A value type so retries allocate nothing
/// for routes of up to 64 backends.</summary>
public struct TriedSet
{
    private ulong _low;
    private HashSet<int>? _high;

    public readonly bool Contains(int index) =>
        index < 64 ? (_low & (1UL << index)) != 0 : _high?.Contains(index) == true;

    public void Add(int index)
    {
        if (index < 64) _low |= 1UL << index;
        else (_high ??= new HashSet<int>()).Add(index);
    }

    public readonly int Count => System.Numerics.BitOperations.PopCount(_low) + (_high?.Count ?? 0);
}

public static class BackendSelectors
{
    /// <summary>Builds the selector for <paramref name="policy"/> over <paramref name="eligible"/>.</summary>
    /// <param name="random">Randomness for random/weighted-random/least-latency; <see cref="Random.Shared"/> when null.</param>
    public static IBackendSelector Create(LoadBalancingPolicy policy, ImmutableArray<BackendEntry> eligible, Random? random = null)
        => policy switch
        {
            LoadBalancingPolicy.RoundRobin => new RoundRobinSelector(),
            LoadBalancingPolicy.WeightedRoundRobin => new WeightedRoundRobinSelector(eligible),
            LoadBalancingPolicy.Random => new RandomSelector(random),
            LoadBalancingPolicy.WeightedRandom => new WeightedRandomSelector(eligible, random),
            LoadBalancingPolicy.LeastConnections => new LeastConnectionsSelector(),
            LoadBalancingPolicy.LeastLatency => new LeastLatencySelector(random),
            _ => throw new ArgumentOutOfRangeException(nameof(policy), policy, "unknown load-balancing policy"),
        };
}
