using System.Collections.Immutable;
using Akka.Actor;
using Akka.Event;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using Prox.Actors.Backends;
using Prox.Actors.Config;
using Prox.Actors.Events;
using Prox.Actors.Routing;
using Xunit;

namespace Prox.Tests.Routing;

public class RouteActorTests : TestKit
{
    public RouteActorTests()
        : base("akka.scheduler.implementation = \"Akka.TestKit.TestScheduler, Akka.TestKit\"")
    {
    }

    private TestScheduler Scheduler => (TestScheduler)Sys.Scheduler;

    // panic off: these tests are about ejection itself (RouteActorPanicTests covers the threshold)
    private static RouteConfig Route(params string[] ids) => Route(0, ids);

    /// <summary>Route <c>api</c> over <paramref name="ids"/>: round-robin, one failure ejects for 5 s.</summary>
    internal static RouteConfig Route(double panicThreshold, params string[] ids) => new(
        "api",
        new RouteMatch("/api", []),
        false,
        LoadBalancingPolicy.RoundRobin,
        ids.Select(id => new BackendConfig(id, new Uri($"http://{id}"), 1, null)).ToImmutableArray(),
        TimeoutsConfig.Default,
        RetryConfig.Default,
        new PassiveConfig(1, TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(60)) { PanicThreshold = panicThreshold },
        true,
        true);

    private (IActorRef Actor, TestProbe Parent, RouteSlot Slot) Start(RouteConfig cfg)
    {
        var slot = new RouteSlot(cfg.Id);
        var parent = CreateTestProbe();
        var actor = parent.ChildActorOf(RouteActor.Props(cfg, slot));
        parent.ExpectMsg<RouteSnapshotPublished>(p => p.RouteId == "api" && p.Version == 1);
        return (actor, parent, slot);
    }

    [Fact]
    public void PreStart_PublishesSnapshot_WithEveryBackendEligible()
    {
        var (_, _, slot) = Start(Route("a:1", "b:2", "c:3"));
        var snap = slot.Current!;
        Assert.Equal(["a:1", "b:2", "c:3"], snap.Eligible.Select(e => e.Id));
        Assert.Null(snap.NextReturn);
        Assert.Equal(1, snap.Version);
    }

    [Fact]
    public void BackendEjected_Republishes_WithoutIt_AndBackAfterEjectFor()
    {
        var (_, parent, slot) = Start(Route("a:1", "b:2"));
        var b = slot.Current!.Eligible[1];
        var t0 = Scheduler.Now;

        b.Actor.Tell(new RequestOutcome(OutcomeKind.ConnectFailure, 0, TimeSpan.Zero));
        parent.ExpectMsg<RouteSnapshotPublished>(p => p.Version == 2);
        var snap = slot.Current!;
        Assert.Equal(["a:1"], snap.Eligible.Select(e => e.Id));
        Assert.Equal(t0 + TimeSpan.FromSeconds(5), snap.NextReturn);
        Assert.Equal(0, snap.Selector.Pick(snap.Eligible, default));

        Scheduler.Advance(TimeSpan.FromSeconds(5));
        parent.ExpectMsg<RouteSnapshotPublished>(p => p.Version == 3);
        Assert.Equal(["a:1", "b:2"], slot.Current!.Eligible.Select(e => e.Id));
    }

    [Fact]
    public void BackendActorRestarted_WhileEjected_KeepsItsStateAndTimer()
    {
        var events = CreateTestProbe();
        Sys.EventStream.Subscribe<ProxEvent>(events);
        var (_, parent, slot) = Start(Route("a:1", "b:2"));
        var b = slot.Current!.Eligible[1];
        b.Actor.Tell(new RequestOutcome(OutcomeKind.ConnectFailure, 0, TimeSpan.Zero));
        parent.ExpectMsg<RouteSnapshotPublished>(p => p.Version == 2);
        Assert.Single(slot.Current!.Eligible);
        events.ExpectMsg<ProxEvent>(e => e.Kind == ProxEventKinds.BackendEjected);

        // a crash: the supervisor restarts the actor after its backoff, from the same memory
        EventFilter.Exception<Prox.Actors.Supervision.InjectedFaultException>().ExpectOne(() =>
            b.Actor.Tell(new Prox.Actors.Supervision.InjectFault("test")));
        Scheduler.Advance(Prox.Actors.Supervision.Restarts.MinBackoff * 1.3); // backoff incl. random factor
        var restarted = events.ExpectMsg<ProxEvent>(e => e.Kind == ProxEventKinds.ActorRestarted);
        Assert.Equal("b:2", restarted.Backend);
        Assert.Contains("crash 1", restarted.Detail);
        Assert.Single(slot.Current!.Eligible); // still ejected: the restart did not wipe the ejection
        b.Actor.Tell(GetBackendStatus.Instance);
        var status = ExpectMsg<BackendStatus>();
        Assert.Equal(("ejected", 1L, 1), (status.State, status.Failures, status.Ejections));

        // and the new incarnation re-armed the return timer
        Scheduler.Advance(TimeSpan.FromSeconds(5));
        events.ExpectMsg<ProxEvent>(e => e.Kind == ProxEventKinds.BackendReturned);
        AwaitAssert(() => Assert.Equal(2, slot.Current!.Eligible.Length));
    }

    [Fact]
    public void AllEjected_SnapshotEmpty_SelectorReturnsMinusOne()
    {
        var (_, parent, slot) = Start(Route("a:1", "b:2"));
        foreach (var e in slot.Current!.Eligible)
            e.Actor.Tell(new RequestOutcome(OutcomeKind.Timeout, 0, TimeSpan.Zero));
        parent.ExpectMsg<RouteSnapshotPublished>();
        parent.ExpectMsg<RouteSnapshotPublished>();
        var snap = slot.Current!;
        Assert.Empty(snap.Eligible);
        Assert.Equal(-1, snap.Selector.Pick(snap.Eligible, default));
        Assert.NotNull(snap.NextReturn);
    }

    [Fact]
    public void Events_EjectionPoolDownReturnPoolUp_InOrder()
    {
        var events = CreateTestProbe();
        Sys.EventStream.Subscribe<ProxEvent>(events);
        var (_, parent, slot) = Start(Route("a:1"));
        var a = slot.Current!.Eligible[0];

        a.Actor.Tell(new RequestOutcome(OutcomeKind.ConnectFailure, 0, TimeSpan.Zero));
        var ejected = events.ExpectMsg<ProxEvent>();
        Assert.Equal((ProxEventKinds.BackendEjected, "api", "a:1"), (ejected.Kind, ejected.Route, ejected.Backend));
        var down = events.ExpectMsg<ProxEvent>();
        Assert.Equal((ProxEventKinds.PoolDown, "api", (string?)null), (down.Kind, down.Route, down.Backend));

        Scheduler.Advance(TimeSpan.FromSeconds(5));
        Assert.Equal(ProxEventKinds.BackendReturned, events.ExpectMsg<ProxEvent>().Kind);
        Assert.Equal(ProxEventKinds.PoolUp, events.ExpectMsg<ProxEvent>().Kind);
        events.ExpectNoMsg(TimeSpan.FromMilliseconds(100));
    }

    [Fact]
    public void CrashedActors_EmitActorRestarted()
    {
        var events = CreateTestProbe();
        Sys.EventStream.Subscribe<ProxEvent>(events);
        var (_, _, slot) = Start(Route("a:1", "b:2"));

        EventFilter.Exception<Prox.Actors.Supervision.InjectedFaultException>().ExpectOne(() =>
            slot.Current!.Eligible[0].Actor.Tell(new Prox.Actors.Supervision.InjectFault("drill")));
        Scheduler.Advance(Prox.Actors.Supervision.Restarts.MinBackoff * 1.3);
        var backendRestart = events.ExpectMsg<ProxEvent>(e => e.Kind == ProxEventKinds.ActorRestarted);
        Assert.Equal("a:1", backendRestart.Backend);
        Assert.Contains("drill", backendRestart.Detail);

    }

    [Fact]
    public void CrashedRouteActor_Restarts_EmitsEvent_AndRepublishes_BackendStateKept()
    {
        var events = CreateTestProbe();
        Sys.EventStream.Subscribe<ProxEvent>(events);
        var slot = new RouteSlot("api");
        var route = Sys.ActorOf(RouteActor.Props(Route("a:1", "b:2"), slot)); // default (in-place restart) supervision
        AwaitCondition(() => slot.Current is not null);
        slot.Current!.Eligible[0].Actor.Tell(new RequestOutcome(OutcomeKind.ConnectFailure, 0, TimeSpan.Zero)); // ejects a
        AwaitCondition(() => slot.Current!.Eligible.Length == 1);
        var before = slot.Current!;

        EventFilter.Exception<Prox.Actors.Supervision.InjectedFaultException>().ExpectOne(() =>
            route.Tell(new Prox.Actors.Supervision.InjectFault("drill")));

        var restarted = events.FishForMessage<ProxEvent>(e => e.Kind == ProxEventKinds.ActorRestarted);
        Assert.Equal(("api", (string?)null), (restarted.Route, restarted.Backend));
        Assert.Contains("drill", restarted.Detail);
        // the restarted route republishes a snapshot built from the backends' kept state: a is still ejected
        AwaitAssert(() => Assert.NotSame(before, slot.Current));
        Assert.Equal(["b:2"], slot.Current!.Eligible.Select(e => e.Id));
        route.Tell(GetRouteStatus.Instance);
        var status = ExpectMsg<RouteStatus>();
        Assert.Equal(("ejected", 1, 1L), (status.Backends[0].State, status.Backends[0].Ejections, status.Backends[0].Failures));
    }

    [Fact]
    public void GetRouteStatus_AggregatesBackendStatuses()
    {
        var (actor, _, slot) = Start(Route("a:1", "b:2"));
        slot.Current!.Eligible[0].Actor.Tell(new RequestOutcome(OutcomeKind.Success, 200, TimeSpan.FromMilliseconds(3)));
        actor.Tell(GetRouteStatus.Instance);
        var status = ExpectMsg<RouteStatus>();
        Assert.Equal("api", status.Name);
        Assert.Equal("round-robin", status.Policy);
        Assert.Equal(2, status.Eligible);
        Assert.Equal([1L, 0L], status.Backends.Select(b => b.Requests));
    }

    [Fact]
    public void BackendActorCrashingRepeatedly_RestartDelayDoubles_StatusSaysRestartingMeanwhile()
    {
        var events = CreateTestProbe();
        Sys.EventStream.Subscribe<ProxEvent>(events);
        var (actor, _, slot) = Start(Route("a:1"));
        var a = slot.Current!.Eligible[0];
        AwaitCondition(() => a.Live.Mailbox != a.Actor); // the actor said where it lives: outcomes skip the supervisor

        var min = Prox.Actors.Supervision.Restarts.MinBackoff;
        foreach (var n in new[] { 1, 2, 3 })
        {
            var incarnation = a.Live.Mailbox;
            EventFilter.Exception<Prox.Actors.Supervision.InjectedFaultException>().ExpectOne(() =>
                a.Actor.Tell(new Prox.Actors.Supervision.InjectFault("again")));
            var delay = min * Math.Pow(2, n - 1); // 200 ms, 400 ms, 800 ms (+ up to 20% random)

            Scheduler.Advance(delay * 0.95);
            events.ExpectNoMsg(TimeSpan.FromMilliseconds(100));
            // waiting out the backoff: the route still answers for it
            actor.Tell(GetRouteStatus.Instance);
            Assert.Equal("restarting", ExpectMsg<RouteStatus>().Backends[0].State);

            Scheduler.Advance(delay * 0.3);
            var restarted = events.FishForMessage<ProxEvent>(e => e.Kind == ProxEventKinds.ActorRestarted);
            Assert.Contains($"crash {n}", restarted.Detail);
            AwaitCondition(() => a.Live.Mailbox != incarnation && a.Live.Mailbox != a.Actor);
        }
    }
}
