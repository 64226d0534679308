using System.Collections.Immutable;

namespace Prox.Actors.Selection;

/// <summary>Random choice proportional to weight: prefix sums built once, binary search per pick.</summary>
public sealed class WeightedRandomSelector : IBackendSelector
{
    private readonly Random _random;
    // _prefix[i] = sum of weights 0..i
    private readonly long[] _prefix;

    /// <param name="random">Must be thread-safe when shared by requests (<see cref="Random.Shared"/>);
    /// a seeded instance is for single-threaded tests.</param>
    public WeightedRandomSelector(ImmutableArray<BackendEntry> eligible, Random? random = null)
    {
        _random = random ?? Random.Shared;
        _prefix = new long[eligible.IsDefault ? 0 : eligible.Length];
        long sum = 0;
        for (int i = 0; i < _prefix.Length; i++)
        {
            sum += SelectionMath.Weight(eligible[i].Weight);
            _prefix[i] = sum;
        }
    }

    /// <inheritdoc />
    public int Pick(ImmutableArray<BackendEntry> eligible, in TriedSet tried)
    {
        if (eligible.IsDefaultOrEmpty) return -1;
        int n = eligible.Length;
        if (_prefix.Length == 0) return SelectionMath.NextUntried(_random.Next(n), n, tried);
        int choice = FirstAbove(_prefix, _random.NextInt64(_prefix[^1]));
        // a set larger or smaller than the one the sums were built for is a caller bug; still answer
        if (choice >= n) choice %= n;
        return SelectionMath.NextUntried(choice, n, tried);
    }

    /// <summary>The first index whose prefix sum exceeds <paramref name="r"/>.</summary>
    private static int FirstAbove(long[] prefix, long r)
    {
        int lo = 0, hi = prefix.Length - 1;
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (prefix[mid] > r) hi = mid;
            else lo = mid + 1;
        }
        return lo;
    }
}
