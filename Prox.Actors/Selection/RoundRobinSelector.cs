using System.Collections.Immutable;

namespace Prox.Actors.Selection;

/// <summary>Plain round-robin over the eligible backends; weights are ignored.</summary>
public sealed class RoundRobinSelector : IBackendSelector
{
    // starts at -1 so the first pick is index 0
    private int _cursor = -1;

    /// <inheritdoc />
    public int Pick(ImmutableArray<BackendEntry> eligible, in TriedSet tried)
    {
        if (eligible.IsDefaultOrEmpty) return -1;
        int n = eligible.Length;
        return SelectionMath.NextUntried(SelectionMath.Advance(ref _cursor) % n, n, tried);
    }
}
