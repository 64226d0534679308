using Akka.Actor;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using Prox.Actors.Backends;
using Prox.Actors.Config;
using Xunit;

namespace Prox.Tests.Backends;

public class BackendActorTests : TestKit
{
    private static readonly PassiveConfig Passive = new(2, TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(60));

    public BackendActorTests()
        : base("akka.scheduler.implementation = \"Akka.TestKit.TestScheduler, Akka.TestKit\"")
    {
    }

    private TestScheduler Scheduler => (TestScheduler)Sys.Scheduler;

    private (IActorRef Actor, TestProbe Parent, BackendLive Live) Start()
    {
        var live = new BackendLive("r", new BackendConfig("b1", new Uri("http://127.0.0.1:1"), 2, null));
        var parent = CreateTestProbe();
        var actor = parent.ChildActorOf(BackendActor.Props(live, Passive));
        // every start (and restart) announces the backend as available
        parent.ExpectMsg<BackendAvailabilityChanged>(m => m.Available && m.BackendId == "b1");
        return (actor, parent, live);
    }

    private static RequestOutcome Ok(int ms = 10) => new(OutcomeKind.Success, 200, TimeSpan.FromMilliseconds(ms));
    private static readonly RequestOutcome Refused = new(OutcomeKind.ConnectFailure, 0, TimeSpan.FromMilliseconds(1));

    [Fact]
    public void Outcomes_CountedInStatus_WithLatency()
    {
        var (actor, _, live) = Start();
        actor.Tell(Ok(10));
        actor.Tell(Ok(30));
        actor.Tell(new RequestOutcome(OutcomeKind.GatewayStatus, 503, TimeSpan.FromMilliseconds(5)));
        actor.Tell(GetBackendStatus.Instance);
        var s = ExpectMsg<BackendStatus>();
        Assert.Equal(3, s.Requests);
        Assert.Equal(1, s.Failures);
        Assert.Equal("up", s.State);
        Assert.True(s.Healthy);
        Assert.Equal(2, s.Weight);
        Assert.InRange(s.LatencyMs.P50, 9, 31);
        Assert.True(s.LatencyMs.Ewma > 0);
        Assert.True(live.EwmaMicros > 0);
    }

    [Fact]
    public void ABatchFromAnotherNode_IsReplayedInOrder_AndEjects()
    {
        var (actor, parent, _) = Start();
        actor.Tell(new RecordOutcomes(
        [
            new(OutcomeKind.ConnectFailure, 0, 1, 1000), new(OutcomeKind.Success, 200, 3, 10_000),
            new(OutcomeKind.ConnectFailure, 0, 1, 1000),
        ]));
        // a success between the failures: not two in a row
        parent.ExpectNoMsg(TimeSpan.FromMilliseconds(100));
        actor.Tell(new RecordOutcomes([new(OutcomeKind.Timeout, 0, 1, 5_000_000)]));
        parent.ExpectMsg<BackendAvailabilityChanged>(m => !m.Available);
        actor.Tell(GetBackendStatus.Instance);
        var s = ExpectMsg<BackendStatus>();
        Assert.Equal(6, s.Requests);
        Assert.Equal(3, s.Failures);
        Assert.Equal("ejected", s.State);
    }

    [Fact]
    public void ClientAborts_AreNotBackendFailures()
    {
        var (actor, parent, _) = Start();
        for (var i = 0; i < 5; i++) actor.Tell(new RequestOutcome(OutcomeKind.ClientAbort, 0, TimeSpan.Zero));
        parent.ExpectNoMsg(TimeSpan.FromMilliseconds(100));
        actor.Tell(GetBackendStatus.Instance);
        Assert.Equal(0, ExpectMsg<BackendStatus>().Failures);
    }

    [Fact]
    public void ConsecutiveFailures_Eject_ThenReturnAfterEjectFor_InVirtualTime()
    {
        var (actor, parent, _) = Start();
        var t0 = Scheduler.Now;
        actor.Tell(Refused);
        actor.Tell(Refused);
        var down = parent.ExpectMsg<BackendAvailabilityChanged>();
        Assert.False(down.Available);
        Assert.Equal(t0 + TimeSpan.FromSeconds(10), down.EjectedUntil);

        actor.Tell(GetBackendStatus.Instance);
        Assert.Equal("ejected", ExpectMsg<BackendStatus>().State);

        Scheduler.Advance(TimeSpan.FromSeconds(9));
        parent.ExpectNoMsg(TimeSpan.FromMilliseconds(100));
        Scheduler.Advance(TimeSpan.FromSeconds(1));
        var up = parent.ExpectMsg<BackendAvailabilityChanged>();
        Assert.True(up.Available);
    }

    [Fact]
    public void FailureOnProbation_Reejects_WithDoubledTime()
    {
        var (actor, parent, _) = Start();
        actor.Tell(Refused);
        actor.Tell(Refused);
        parent.ExpectMsg<BackendAvailabilityChanged>(m => !m.Available);
        Scheduler.Advance(TimeSpan.FromSeconds(10));
        parent.ExpectMsg<BackendAvailabilityChanged>(m => m.Available);

        var t1 = Scheduler.Now;
        actor.Tell(Refused); // one failure on probation is enough
        var again = parent.ExpectMsg<BackendAvailabilityChanged>();
        Assert.False(again.Available);
        Assert.Equal(t1 + TimeSpan.FromSeconds(20), again.EjectedUntil);

        Scheduler.Advance(TimeSpan.FromSeconds(19));
        parent.ExpectNoMsg(TimeSpan.FromMilliseconds(100));
        Scheduler.Advance(TimeSpan.FromSeconds(1));
        parent.ExpectMsg<BackendAvailabilityChanged>(m => m.Available);
    }

    [Fact]
    public void SuccessBetweenFailures_PreventsEjection()
    {
        var (actor, parent, _) = Start();
        actor.Tell(Refused);
        actor.Tell(Ok());
        actor.Tell(Refused);
        parent.ExpectNoMsg(TimeSpan.FromMilliseconds(150));
    }
}
