using System.Collections.Immutable;

namespace Prox.Actors.Selection;

/// <summary>
/// Power of two choices: two distinct random candidates, the one with the lower
/// <c>latency EWMA × (in-flight + 1)</c> wins. Sampling keeps one fast backend from taking every
/// request; the in-flight factor moves traffic away from a backend as it queues up.
/// </summary>
public sealed class LeastLatencySelector : IBackendSelector
{
    /// <summary>Latency assumed for a backend with no samples yet: below any real one, so untried
    /// backends win their comparisons and start producing data.</summary>
    public const long UnmeasuredMicros = 1;

    private readonly Random _random;

    /// <param name="random">Must be thread-safe when shared by requests (<see cref="Random.Shared"/>);
    /// a seeded instance is for single-threaded tests.</param>
    public LeastLatencySelector(Random? random = null) => _random = random ?? Random.Shared;

    /// <inheritdoc />
    public int Pick(ImmutableArray<BackendEntry> eligible, in TriedSet tried)
    {
        if (eligible.IsDefaultOrEmpty) return -1;
        int n = eligible.Length;
        if (n == 1) return tried.Contains(0) ? -1 : 0;

        int a = _random.Next(n);
        int b = _random.Next(n - 1);
        if (b >= a) b++;

        bool aOk = !tried.Contains(a), bOk = !tried.Contains(b);
        if (aOk && bOk) return Score(eligible[b]) < Score(eligible[a]) ? b : a;
        if (aOk) return a;
        if (bOk) return b;
        return SelectionMath.NextUntried(a, n, tried);
    }

    private static long Score(BackendEntry entry)
    {
        long ewma = entry.Live.EwmaMicros;
        if (ewma <= 0) ewma = UnmeasuredMicros;
        return ewma * (entry.Live.InFlight + 1L);
    }
}
