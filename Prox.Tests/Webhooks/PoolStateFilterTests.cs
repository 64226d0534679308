using Prox.Actors.Events;
using Prox.Actors.Webhooks;
using Xunit;

namespace Prox.Tests.Webhooks;

public class PoolStateFilterTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 26, 10, 0, 0, TimeSpan.Zero);

    private static ProxEvent E(string kind, string? route = "api", string? backend = null) =>
        ProxEvent.Create(T0, kind, route, backend, "d");

    /// <summary>Offers <paramref name="kinds"/> (route "api" unless "kind@route") in order; returns which were kept.</summary>
    private static bool[] Run(params string[] kinds)
    {
        var filter = PoolStateFilter.Empty;
        var kept = new List<bool>();
        foreach (var k in kinds)
        {
            var parts = k.Split('@');
            (filter, var keep) = filter.Offer(E(parts[0], parts.Length > 1 ? parts[1] : "api"));
            kept.Add(keep);
        }
        return kept.ToArray();
    }

    [Theory]
    [InlineData(new[] { "pool-down", "pool-down", "pool-down" }, new[] { true, false, false })]
    [InlineData(new[] { "pool-down", "pool-up", "pool-down", "pool-up" }, new[] { true, true, true, true })]
    [InlineData(new[] { "pool-down", "pool-down", "pool-up", "pool-up", "pool-down" }, new[] { true, false, true, false, true })]
    [InlineData(new[] { "pool-down@a", "pool-down@b", "pool-down@a" }, new[] { true, true, false })]
    [InlineData(new[] { "pool-up", "pool-up" }, new[] { true, false })]
    public void Offer_PoolEvents_RepeatsOfTheRoutesLastKindDropped(string[] kinds, bool[] expected) =>
        Assert.Equal(expected, Run(kinds));

    [Theory]
    [InlineData(ProxEventKinds.BackendDown)]
    [InlineData(ProxEventKinds.ActorRestarted)]
    [InlineData(ProxEventKinds.ConfigApplied)]
    public void Offer_OtherKinds_AlwaysKept(string kind) =>
        Assert.Equal([true, true, true], Run(kind, kind, kind));

    [Fact]
    public void Offer_PoolEventWithoutRoute_Kept()
    {
        var (next, keep1) = PoolStateFilter.Empty.Offer(E(ProxEventKinds.PoolDown, route: null));
        var (_, keep2) = next.Offer(E(ProxEventKinds.PoolDown, route: null));

        Assert.True(keep1);
        Assert.True(keep2);
    }
}
