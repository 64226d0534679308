using System.Collections.Immutable;

namespace Prox.Actors.Selection;

/// <summary>
/// The eligible backend with the fewest requests in flight. Ties go to the lower in-flight/weight
/// ratio, then to the first in a scan whose start rotates, so idle backends share traffic instead of
/// index 0 taking it all.
/// </summary>
public sealed class LeastConnectionsSelector : IBackendSelector
{
    private int _cursor = -1;

    /// <inheritdoc />
    public int Pick(ImmutableArray<BackendEntry> eligible, in TriedSet tried)
    {
        if (eligible.IsDefaultOrEmpty) return -1;
        int n = eligible.Length;
        int start = SelectionMath.Advance(ref _cursor) % n;
        int best = -1, bestInFlight = 0, bestWeight = 1;
        for (int k = 0; k < n; k++)
        {
            int i = start + k;
            if (i >= n) i -= n;
            if (tried.Contains(i)) continue;
            var entry = eligible[i];
            int inFlight = entry.Live.InFlight;
            int weight = SelectionMath.Weight(entry.Weight);
            // inFlight/weight < bestInFlight/bestWeight, cross-multiplied to stay in integers
            if (best < 0 || inFlight < bestInFlight ||
                (inFlight == bestInFlight && (long)inFlight * bestWeight < (long)bestInFlight * weight))
            {
                best = i;
                bestInFlight = inFlight;
                bestWeight = weight;
            }
        }
        return best;
    }
}
