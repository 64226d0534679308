using Akka.Actor;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using Prox.Actors.Backends;
using Prox.Actors.Breaker;
using Prox.Actors.Cluster;
using Prox.Actors.Config;
using Xunit;

namespace Prox.Tests.Cluster;

/// <summary>The node-local side of a sharded backend, in virtual time: the shard region is a probe.</summary>
public sealed class BackendLinkTests : TestKit
{
    private const string Entity = "r/b1";

    public BackendLinkTests()
        : base("akka.scheduler.implementation = \"Akka.TestKit.TestScheduler, Akka.TestKit\"")
    {
    }

    private TestScheduler Scheduler => (TestScheduler)Sys.Scheduler;

    private (IActorRef Link, TestProbe Route, TestProbe Region, BackendMemory Memory, ClusterBackendStats Stats) Start()
    {
        var memory = new BackendMemory(new BackendLive("r", new BackendConfig("b1", new Uri("http://127.0.0.1:1"), 1, null)));
        var stats = new ClusterBackendStats();
        var route = CreateTestProbe();
        var region = CreateTestProbe();
        var link = route.ChildActorOf(BackendLink.Props(region.Ref, Entity, "fp1", memory, stats));
        Assert.Equal(new BackendSubscribe(Entity, "fp1"), region.ExpectMsg<BackendSubscribe>());
        // until the owner answers, the route goes on from the last known availability
        route.ExpectMsg<BackendAvailabilityChanged>(m => m.Available && m.BackendId == "b1");
        return (link, route, region, memory, stats);
    }

    /// <summary>The batch a failure brought forward. The link counts the failure just before it arms the flush timer,
    /// so the clock is advanced until the timer was armed in time.</summary>
    private OutcomeBatch FailureFlushed(TestProbe region)
    {
        OutcomeBatch? batch = null;
        AwaitAssert(() =>
        {
            Scheduler.Advance(BackendLink.FailureFlush);
            batch = region.ExpectMsg<OutcomeBatch>(TimeSpan.FromMilliseconds(50));
        }, TimeSpan.FromSeconds(3), TimeSpan.Zero);
        return batch!;
    }

    private static RequestOutcome Ok(int ms) => new(OutcomeKind.Success, 200, TimeSpan.FromMilliseconds(ms));

    private static BackendStateUpdate State(long incarnation, long seq, bool available, string owner = "akka.tcp://prox@127.0.0.1:2") =>
        new(Entity, owner, incarnation, seq, available, available ? null : DateTimeOffset.UnixEpoch.AddHours(1), DateTimeOffset.UtcNow, "fp1");

    [Fact]
    public void Successes_GoAsOneBatch_AfterTheSlowFlush()
    {
        var (link, _, region, memory, stats) = Start();
        link.Tell(Ok(10));
        link.Tell(Ok(30));
        link.Tell(Ok(20));
        AwaitCondition(() => memory.Requests == 3); // the flush timer is armed by then
        Scheduler.Advance(BackendLink.SuccessFlush - TimeSpan.FromMilliseconds(1));
        region.ExpectNoMsg(TimeSpan.FromMilliseconds(50));

        Scheduler.Advance(TimeSpan.FromMilliseconds(1));
        var batch = region.FishForMessage<OutcomeBatch>(m => m is OutcomeBatch);
        Assert.Equal([new OutcomeRun(OutcomeKind.Success, 200, 3, 20_000)], batch.Runs.ToArray());
        Assert.Equal(3, memory.Requests);
        Assert.True(memory.Live.EwmaMicros > 0); // this node's own latency view, for least-latency balancing
        var s = stats.Snapshot();
        Assert.Equal(3, s.Outcomes);
        Assert.Equal(1, s.OutcomeMessages);
    }

    [Fact]
    public void AFailure_BringsTheBatchForward()
    {
        var (link, _, region, memory, _) = Start();
        link.Tell(Ok(10));
        link.Tell(new RequestOutcome(OutcomeKind.ConnectFailure, 0, TimeSpan.FromMilliseconds(1)));
        AwaitCondition(() => memory.Failures == 1);
        var batch = FailureFlushed(region);
        Assert.Equal([OutcomeKind.Success, OutcomeKind.ConnectFailure], batch.Runs.Select(r => r.Kind).ToArray());
        // nothing left for the slow flush
        Scheduler.Advance(BackendLink.SuccessFlush);
        region.FishForMessage<BackendSubscribe>(m => m is BackendSubscribe);
        region.ExpectNoMsg(TimeSpan.FromMilliseconds(50));
    }

    [Fact]
    public void TalliedAnswers_GoAsOneRun_BeforeTheFailureThatFollowedThem()
    {
        var (_, _, region, memory, _) = Start();
        for (var i = 0; i < 3; i++) memory.Live.Report(OutcomeKind.Success, 200, TimeSpan.FromMilliseconds(20));
        memory.Live.Report(OutcomeKind.ConnectFailure, 0, TimeSpan.FromMilliseconds(1));
        AwaitCondition(() => memory.Failures == 1);
        var batch = FailureFlushed(region);
        Assert.Equal([new OutcomeRun(OutcomeKind.Success, 0, 3, 20_000), new OutcomeRun(OutcomeKind.ConnectFailure, 0, 1, 1000)],
            batch.Runs.ToArray());
        Assert.Equal(4, memory.Requests);
        Assert.True(memory.Live.EwmaMicros > 0);
    }

    [Fact]
    public void ATrialOutcome_GoesAtOnce_WithItsPermits()
    {
        var (link, _, region, _, _) = Start();
        var permits = new HalfOpenPermits(1);
        link.Tell(Ok(5) with { Trial = permits });
        var trial = region.ExpectMsg<TrialOutcome>();
        Assert.Same(permits, trial.Trial);
        Assert.Equal(OutcomeKind.Success, trial.Kind);
    }

    [Fact]
    public void OwnerUpdates_ReachTheRoute_InOrder_AndANewIncarnationStartsOver()
    {
        var (link, route, region, memory, _) = Start();
        link.Tell(State(1, 0, true), region.Ref);
        route.ExpectMsg<BackendAvailabilityChanged>(m => m.Available); // the owner's first word is always passed on
        link.Tell(State(1, 0, true), region.Ref);
        route.ExpectNoMsg(TimeSpan.FromMilliseconds(50)); // a heartbeat with nothing new: nothing to tell

        link.Tell(State(1, 2, false), region.Ref);
        route.ExpectMsg<BackendAvailabilityChanged>(m => !m.Available && m.EjectedUntil != null);
        Assert.False(memory.LastAvailable);

        link.Tell(State(1, 1, true), region.Ref); // older than what the link has: ignored
        route.ExpectNoMsg(TimeSpan.FromMilliseconds(50));

        // the entity moved: its new incarnation counts from zero again
        link.Tell(State(7, 0, true, owner: "akka.tcp://prox@127.0.0.1:3"), region.Ref);
        route.ExpectMsg<BackendAvailabilityChanged>(m => m.Available);
    }

    [Fact]
    public void ANewOwner_GetsTheLastCarryTheLinkHeard()
    {
        var (link, _, region, _, _) = Start();
        var owner = CreateTestProbe();
        owner.Send(link, new BackendSeedRequest(Entity));
        Assert.Null(owner.ExpectMsg<BackendSeed>().Carry); // nothing heard yet: the new owner starts afresh

        var carry = new BackendCarry("fp1", false, 10, 3, Prox.Actors.Backends.PassiveState.Initial, BreakerMode.Open, 3, 1,
            DateTimeOffset.UnixEpoch.AddHours(1), 0, null, null);
        link.Tell(State(1, 1, false) with { Carry = carry }, region.Ref);
        link.Tell(State(1, 2, false), region.Ref); // an update without a carry keeps the last one
        owner.Send(link, new BackendSeedRequest(Entity));
        Assert.Equal(new BackendSeed(Entity, carry), owner.ExpectMsg<BackendSeed>());
    }

    [Fact]
    public void Resubscribes_Periodically_AndUnsubscribesOnStop()
    {
        var (link, _, region, _, stats) = Start();
        Scheduler.Advance(BackendLink.ResubscribeEvery);
        region.ExpectMsg<BackendSubscribe>();
        Scheduler.Advance(BackendLink.ResubscribeEvery);
        region.ExpectMsg<BackendSubscribe>();
        Assert.Equal(3, stats.Snapshot().Subscriptions);

        Sys.Stop(link);
        region.ExpectMsg<BackendUnsubscribe>(m => m.EntityId == Entity);
    }

    [Fact]
    public void Status_IsTheOwners_WithThisNodesInFlight()
    {
        var (link, _, region, memory, _) = Start();
        link.Tell(State(1, 1, true), region.Ref);
        memory.Live.Enter();
        link.Tell(GetBackendStatus.Instance);
        region.ExpectMsg<BackendStatusQuery>(q => q.EntityId == Entity);
        region.Reply(new BackendStatus("b1", "http://127.0.0.1:1/", 1, true, "up", null, 0, 42, 1, 0, 0, new LatencySummary(1, 2, 3, 1)));
        var s = ExpectMsg<BackendStatus>();
        Assert.Equal(42, s.Requests);
        Assert.Equal(1, s.InFlight);
        Assert.Equal("akka.tcp://prox@127.0.0.1:2", s.Owner);
    }
}

public sealed class OutcomeBatcherTests
{
    [Fact]
    public void FoldsEqualNeighbours_KeepsOrder_CapsRuns()
    {
        var b = new OutcomeBatcher();
        b.Add(OutcomeKind.Success, 200, TimeSpan.FromMilliseconds(10));
        b.Add(OutcomeKind.Success, 200, TimeSpan.FromMilliseconds(30));
        b.Add(OutcomeKind.Success, 404, TimeSpan.FromMilliseconds(1));
        b.Add(OutcomeKind.Timeout, 0, TimeSpan.FromSeconds(1));
        b.Add(OutcomeKind.Success, 200, TimeSpan.FromMilliseconds(5));
        Assert.Equal(5, b.Count);
        Assert.True(b.HasFailure);
        Assert.Equal(
            [new(OutcomeKind.Success, 200, 2, 20_000), new(OutcomeKind.Success, 404, 1, 1_000),
             new(OutcomeKind.Timeout, 0, 1, 1_000_000), new OutcomeRun(OutcomeKind.Success, 200, 1, 5_000)],
            b.Take().ToArray());
        Assert.Equal(0, b.Count);
        Assert.False(b.HasFailure);

        for (var i = 0; i < OutcomeBatcher.MaxRun + 1; i++) b.Add(OutcomeKind.Success, 200, TimeSpan.FromMilliseconds(1));
        Assert.Equal([OutcomeBatcher.MaxRun, 1], b.Take().Select(r => r.Count).ToArray());
    }
}

public sealed class BackendKeyTests
{
    [Theory]
    [InlineData("api", "10.0.0.1:8080")]
    [InlineData("a/b", "x/y z")]
    [InlineData("ü", "%2F")]
    public void EntityId_RoundTrips(string route, string backend)
    {
        var id = BackendKey.EntityId(route, backend);
        Assert.Equal((route, backend), BackendKey.Parse(id));
    }

    [Fact]
    public void Fingerprint_IgnoresWeightAndDrain_NotTheUrl()
    {
        var parsed = ProxConfigParser.ParseText("""
            prox.routes.r.backends = [ { id = a, url = "http://127.0.0.1:1" } ]
            """);
        var route = parsed.Config!.Routes[0];
        var a = route.Backends[0];
        Assert.Equal(BackendKey.Fingerprint(route, a), BackendKey.Fingerprint(route, a with { Weight = 5, Drain = true }));
        Assert.NotEqual(BackendKey.Fingerprint(route, a), BackendKey.Fingerprint(route, a with { Url = new Uri("http://127.0.0.1:2") }));
        Assert.NotEqual(BackendKey.Fingerprint(route, a), BackendKey.Fingerprint(route with { Passive = route.Passive with { FailuresToEject = 9 } }, a));
    }
}
