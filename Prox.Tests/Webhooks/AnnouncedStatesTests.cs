using Prox.Actors.Events;
using Prox.Actors.Webhooks;
using Xunit;

namespace Prox.Tests.Webhooks;

public class AnnouncedStatesTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 26, 10, 0, 0, TimeSpan.Zero);

    private static ProxEvent E(string kind, string? route = "api", string? backend = null) =>
        ProxEvent.Create(T0, kind, route, backend, "d");

    /// <summary>Offers <paramref name="kinds"/> (route "api" unless "kind@route", backend "kind@route/backend") in order,
    /// remembering what is announced; returns which were kept.</summary>
    private static bool[] Run(params string[] kinds)
    {
        var states = AnnouncedStates.Empty;
        var kept = new List<bool>();
        foreach (var k in kinds)
        {
            var parts = k.Split('@');
            var where = (parts.Length > 1 ? parts[1] : "api").Split('/');
            var (keep, announce) = states.Offer(E(parts[0], where[0], where.Length > 1 ? where[1] : null));
            if (announce is not null) states = states.With(announce);
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
    [InlineData(new[] { "backend-down@r/a", "backend-down@r/a", "backend-up@r/a", "backend-down@r/a" }, new[] { true, false, true, true })]
    [InlineData(new[] { "backend-down@r/a", "backend-down@r/b", "backend-down@s/a" }, new[] { true, true, true })]
    [InlineData(new[] { "backend-down@r/a", "pool-down@r", "backend-down@r/a", "pool-down@r" }, new[] { true, true, false, false })]
    public void Offer_BackendEvents_RepeatsOfTheBackendsLastKindDropped(string[] kinds, bool[] expected) =>
        Assert.Equal(expected, Run(kinds));

    [Theory]
    [InlineData(ProxEventKinds.BackendDown)] // without a backend: nothing to key it by
    [InlineData(ProxEventKinds.BackendEjected)]
    [InlineData(ProxEventKinds.ActorRestarted)]
    [InlineData(ProxEventKinds.ConfigApplied)]
    public void Offer_OtherKinds_AlwaysKept(string kind) =>
        Assert.Equal([true, true, true], Run(kind, kind, kind));

    [Fact]
    public void Offer_PoolEventWithoutRoute_Kept()
    {
        var (keep1, announce) = AnnouncedStates.Empty.Offer(E(ProxEventKinds.PoolDown, route: null));

        Assert.True(keep1);
        Assert.Null(announce);
    }

    [Fact]
    public void Offer_KeptTransition_AnnouncesItsKey()
    {
        var (_, announce) = AnnouncedStates.Empty.Offer(E(ProxEventKinds.BackendDown, "r", "b"));

        Assert.Equal(new StateAnnounced("backend:r/b", ProxEventKinds.BackendDown), announce);
        Assert.Equal(ProxEventKinds.BackendDown, AnnouncedStates.Empty.With(announce!).Last(AnnouncedStates.BackendKey("r", "b")));
    }
}
