using System.Collections.Immutable;

namespace Prox.Actors.Selection;

/// <summary>Uniform random choice; weights are ignored.</summary>
public sealed class RandomSelector : IBackendSelector
{
    private readonly Random _random;

    /// <param name="random">Must be thread-safe when shared by requests (<see cref="Random.Shared"/>);
    /// a seeded instance is for single-threaded tests.</param>
    public RandomSelector(Random? random = null) => _random = random ?? Random.Shared;

    /// <inheritdoc />
    public int Pick(ImmutableArray<BackendEntry> eligible, in TriedSet tried)
    {
        if (eligible.IsDefaultOrEmpty) return -1;
        int n = eligible.Length;
        return SelectionMath.NextUntried(_random.Next(n), n, tried);
    }
}
