using Akka.Actor;
using Akka.Event;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using Prox.Actors.Backends;
using Prox.Actors.Config;
using Prox.Actors.Events;
using Prox.Actors.Selection;
using Prox.Actors.Routing;
using Xunit;

namespace Prox.Tests.Routing;

/// <summary>The route's panic threshold, decided by the RouteActor when it builds the snapshot, in virtual time.</summary>
public class RouteActorPanicTests : TestKit
{
    public RouteActorPanicTests()
        : base("akka.scheduler.implementation = \"Akka.TestKit.TestScheduler, Akka.TestKit\"")
    {
    }

    private TestScheduler Scheduler => (TestScheduler)Sys.Scheduler;

    private static RouteConfig Route(double threshold, params string[] ids) => RouteActorTests.Route(threshold, ids);

    private (IActorRef Actor, TestProbe Parent, RouteSlot Slot, TestProbe Events) Start(RouteConfig cfg)
    {
        var events = CreateTestProbe();
        Sys.EventStream.Subscribe<ProxEvent>(events);
        var slot = new RouteSlot(cfg.Id);
        var parent = CreateTestProbe();
        var actor = parent.ChildActorOf(RouteActor.Props(cfg, slot));
        parent.ExpectMsg<RouteSnapshotPublished>(p => p.Version == 1);
        return (actor, parent, slot, events);
    }

    private static void Eject(BackendEntry b) => b.Actor.Tell(new RequestOutcome(OutcomeKind.ConnectFailure, 0, TimeSpan.Zero));

    private RouteStatus Status(IActorRef route)
    {
        route.Tell(GetRouteStatus.Instance);
        return ExpectMsg<RouteStatus>();
    }

    [Fact]
    public void ThreeBackends_TwoEjected_Panic_AllThreeServe_UntilTheyReturn()
    {
        var (route, parent, slot, events) = Start(Route(0.5, "a:1", "b:2", "c:3"));
        var (a, b) = (slot.Current!.Eligible[0], slot.Current!.Eligible[1]);

        // one of three out: two of three eligible is above half, ejection applies
        Eject(a);
        parent.ExpectMsg<RouteSnapshotPublished>(p => p.Version == 2);
        Assert.Equal(["b:2", "c:3"], slot.Current!.Eligible.Select(e => e.Id));
        Assert.Equal(ProxEventKinds.BackendEjected, events.ExpectMsg<ProxEvent>().Kind);
        Assert.False(Status(route).Panic);

        // two of three out: one eligible is below half, so the route balances over all three
        Eject(b);
        parent.ExpectMsg<RouteSnapshotPublished>(p => p.Version == 3);
        Assert.Equal(["a:1", "b:2", "c:3"], slot.Current!.Eligible.Select(e => e.Id));
        Assert.Equal(ProxEventKinds.BackendEjected, events.ExpectMsg<ProxEvent>().Kind);
        var panic = events.ExpectMsg<ProxEvent>();
        Assert.Equal((ProxEventKinds.RoutePanic, "api", (string?)null), (panic.Kind, panic.Route, panic.Backend));
        Assert.Contains("1 of 3 backends eligible", panic.Detail);
        var status = Status(route);
        Assert.True(status.Panic);
        Assert.Equal(3, status.Eligible);
        // the backends themselves are still ejected: panic is the route's decision, not theirs
        Assert.Equal(["ejected", "ejected", "up"], status.Backends.Select(s => s.State));

        // both return after eject-for: panic is over
        Scheduler.Advance(TimeSpan.FromSeconds(5));
        AwaitAssert(() => Assert.False(Status(route).Panic));
        var kinds = new[] { events.ExpectMsg<ProxEvent>(), events.ExpectMsg<ProxEvent>(), events.ExpectMsg<ProxEvent>() }
            .Select(e => e.Kind).ToArray();
        Assert.Equal(2, kinds.Count(k => k == ProxEventKinds.BackendReturned));
        Assert.Contains(ProxEventKinds.RoutePanicOver, kinds);
        Assert.Equal(3, slot.Current!.Eligible.Length);
    }

    [Fact]
    public void SingleBackend_Ejected_StaysInTheSnapshot_NoPoolDown()
    {
        var (route, parent, slot, events) = Start(Route(0.5, "a:1"));
        Eject(slot.Current!.Eligible[0]);
        parent.ExpectMsg<RouteSnapshotPublished>(p => p.Version == 2);

        Assert.Equal(["a:1"], slot.Current!.Eligible.Select(e => e.Id));
        Assert.Equal(ProxEventKinds.BackendEjected, events.ExpectMsg<ProxEvent>().Kind);
        Assert.Equal(ProxEventKinds.RoutePanic, events.ExpectMsg<ProxEvent>().Kind);
        events.ExpectNoMsg(TimeSpan.FromMilliseconds(100)); // no pool-down: the route still serves
        Assert.True(Status(route).Panic);
    }

    [Fact]
    public void ThresholdZero_NeverPanics()
    {
        var (route, parent, slot, events) = Start(Route(0, "a:1"));
        Eject(slot.Current!.Eligible[0]);
        parent.ExpectMsg<RouteSnapshotPublished>(p => p.Version == 2);

        Assert.Empty(slot.Current!.Eligible);
        Assert.Equal(ProxEventKinds.BackendEjected, events.ExpectMsg<ProxEvent>().Kind);
        Assert.Equal(ProxEventKinds.PoolDown, events.ExpectMsg<ProxEvent>().Kind);
        Assert.False(Status(route).Panic);
    }

    [Fact]
    public void InPanic_ABackendHealthChecksReportDown_StaysOut()
    {
        var (route, parent, slot, events) = Start(Route(0.5, "a:1", "b:2", "c:3"));
        var (a, b, c) = (slot.Current!.Eligible[0], slot.Current!.Eligible[1], slot.Current!.Eligible[2]);

        // c's health checks report it down (what its actor announces then: unavailable, not by its guard)
        route.Tell(new BackendAvailabilityChanged(c.Id, false, null) { Guarded = false }, c.Actor);
        parent.ExpectMsg<RouteSnapshotPublished>(p => p.Version == 2);
        Eject(a);
        parent.ExpectMsg<RouteSnapshotPublished>(p => p.Version == 3);

        // one of three eligible: panic brings back the ejected a, never the down c
        Assert.Equal(["a:1", "b:2"], slot.Current!.Eligible.Select(e => e.Id));
        Assert.True(Status(route).Panic);
        Assert.Contains(ProxEventKinds.RoutePanic, new[] { events.ExpectMsg<ProxEvent>(), events.ExpectMsg<ProxEvent>() }.Select(e => e.Kind));

        // b ejected too: still only the two the checks do not report down
        Eject(b);
        parent.ExpectMsg<RouteSnapshotPublished>(p => p.Version == 4);
        Assert.Equal(["a:1", "b:2"], slot.Current!.Eligible.Select(e => e.Id));
    }

    [Fact]
    public void HealthChecksAlone_DoNotPanic()
    {
        var (route, parent, slot, _) = Start(Route(0.5, "a:1", "b:2"));
        foreach (var e in slot.Current!.Eligible)
        {
            route.Tell(new BackendAvailabilityChanged(e.Id, false, null), e.Actor);
            parent.ExpectMsg<RouteSnapshotPublished>();
        }
        Assert.Empty(slot.Current!.Eligible);
        Assert.False(Status(route).Panic);
    }

    [Theory]
    [InlineData(3, 1, 2, 0.5, true)]
    [InlineData(3, 2, 1, 0.5, false)]
    [InlineData(2, 1, 1, 0.5, false)] // exactly half is not below it
    [InlineData(1, 0, 1, 0.5, true)]
    [InlineData(1, 0, 1, 0, false)] // 0% turns it off
    [InlineData(4, 0, 0, 0.5, false)] // nothing guarded: panic would change nothing
    [InlineData(10, 8, 2, 0.9, true)]
    public void Applies_BelowTheShare_WithSomethingToBringBack(int backends, int eligible, int guarded, double threshold, bool panic) =>
        Assert.Equal(panic, PanicThreshold.Applies(backends, eligible, guarded, threshold));
}
