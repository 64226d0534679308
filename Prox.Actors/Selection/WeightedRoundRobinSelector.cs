using System.Collections.Immutable;

namespace Prox.Actors.Selection;

/// <summary>
/// nginx's smooth weighted round-robin. The whole schedule is computed once at construction so a
/// pick is one atomic increment and an array read; weights {5,1,1} give a,a,b,a,c,a,a.
/// </summary>
public sealed class WeightedRoundRobinSelector : IBackendSelector
{
    /// <summary>Longest schedule built; larger weight sums are scaled down proportionally.</summary>
    public const int MaxScheduleLength = 100_000;

    private readonly int[] _schedule;
    private int _cursor = -1;

    public WeightedRoundRobinSelector(ImmutableArray<BackendEntry> eligible)
    {
        var weights = new int[eligible.IsDefault ? 0 : eligible.Length];
        for (int i = 0; i < weights.Length; i++) weights[i] = SelectionMath.Weight(eligible[i].Weight);
        _schedule = BuildSchedule(weights);
    }

    /// <summary>The precomputed sequence of indexes, one full cycle.</summary>
    public ReadOnlySpan<int> Schedule => _schedule;

    /// <inheritdoc />
    public int Pick(ImmutableArray<BackendEntry> eligible, in TriedSet tried)
    {
        if (eligible.IsDefaultOrEmpty) return -1;
        int n = eligible.Length;
        if (_schedule.Length == 0) return SelectionMath.NextUntried(0, n, tried);
        int choice = _schedule[SelectionMath.Advance(ref _cursor) % _schedule.Length];
        // a set larger or smaller than the one the schedule was built for is a caller bug; still answer
        if (choice >= n) choice %= n;
        return SelectionMath.NextUntried(choice, n, tried);
    }

    /// <summary>
    /// One cycle of smooth weighted round-robin for <paramref name="weights"/> (each ≥ 1): weights are
    /// divided by their GCD and, when they still sum past <see cref="MaxScheduleLength"/>, scaled down
    /// keeping each at least 1. Each backend appears exactly its (reduced) weight times, evenly spread.
    /// </summary>
    public static int[] BuildSchedule(ReadOnlySpan<int> weights)
    {
        int n = weights.Length;
        if (n == 0) return [];
        var w = new long[n];
        for (int i = 0; i < n; i++) w[i] = SelectionMath.Weight(weights[i]);
        long total = Reduce(w);
        if (total > MaxScheduleLength)
        {
            for (int i = 0; i < n; i++) w[i] = Math.Max(1, w[i] * MaxScheduleLength / total);
            total = Reduce(w);
        }

        var schedule = new int[total];
        var current = new long[n];
        for (int s = 0; s < schedule.Length; s++)
        {
            int best = 0;
            for (int i = 0; i < n; i++)
            {
                current[i] += w[i];
                // strictly greater: the first index wins ties, as in nginx
                if (current[i] > current[best]) best = i;
            }
            current[best] -= total;
            schedule[s] = best;
        }
        return schedule;
    }

    /// <summary>Divides the weights by their GCD in place; returns their sum.</summary>
    private static long Reduce(long[] w)
    {
        long gcd = 0;
        foreach (long x in w) gcd = Gcd(gcd, x);
        long total = 0;
        for (int i = 0; i < w.Length; i++)
        {
            w[i] /= gcd;
            total += w[i];
        }
        return total;
    }

    private static long Gcd(long a, long b)
    {
        while (b != 0) (a, b) = (b, a % b);
        return a;
    }
}
