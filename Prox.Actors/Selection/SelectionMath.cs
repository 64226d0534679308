using System.Runtime.CompilerServices;

namespace Prox.Actors.Selection;

/// <summary>Small shared pieces of the selection policies: cursors, weights and the tried fallback.</summary>
internal static class SelectionMath
{
    /// <summary>Next value of a shared cursor, never negative.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Advance(ref int cursor) =>
        // mask the sign so the index stays non-negative after the counter overflows
        Interlocked.Increment(ref cursor) & int.MaxValue;

    /// <summary>Weights below 1 count as 1: an eligible backend always gets some traffic
    /// (a backend that must get none is not eligible).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Weight(int weight) => weight < 1 ? 1 : weight;

    /// <summary>The first index not in <paramref name="tried"/>, scanning from <paramref name="start"/>
    /// upwards and wrapping; -1 when all <paramref name="count"/> indexes are tried.</summary>
    public static int NextUntried(int start, int count, in TriedSet tried)
    {
        for (int k = 0; k < count; k++)
        {
            int i = start + k;
            if (i >= count) i -= count;
            if (!tried.Contains(i)) return i;
        }
        return -1;
    }
}
