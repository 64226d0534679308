using System.Collections.Immutable;
using Akka.Actor;
using Prox.Actors.Backends;
using Prox.Actors.Config;
using Prox.Actors.Selection;

namespace Prox.Tests.Selection;

/// <summary>Builds eligible sets for selector tests without an ActorSystem.</summary>
internal static class Backends
{
    public static BackendEntry Entry(int index, int weight = 1) =>
        new(new BackendLive("r", new BackendConfig($"b{index}", new Uri($"http://127.0.0.1:{index + 1}"), weight, null)),
            weight, ActorRefs.Nobody);

    public static ImmutableArray<BackendEntry> WithWeights(params int[] weights) =>
        [.. weights.Select((w, i) => Entry(i, w))];

    public static ImmutableArray<BackendEntry> Count(int n) => WithWeights(Enumerable.Repeat(1, n).ToArray());

    public static void SetInFlight(BackendEntry entry, int inFlight)
    {
        while (entry.Live.InFlight < inFlight) entry.Live.Enter();
        while (entry.Live.InFlight > inFlight) entry.Live.Exit();
    }

    public static int[] Tally(Prox.Actors.Selection.IBackendSelector selector, ImmutableArray<BackendEntry> eligible, int picks)
    {
        var counts = new int[eligible.Length];
        var tried = new Prox.Actors.Selection.TriedSet();
        for (int i = 0; i < picks; i++) counts[selector.Pick(eligible, tried)]++;
        return counts;
    }
}
