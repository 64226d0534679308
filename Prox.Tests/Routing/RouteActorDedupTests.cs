using System.Collections.Immutable;
using Akka.Actor;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using Prox.Actors.Config;
using Prox.Actors.Dedup;
using Prox.Actors.Routing;
using Prox.Http.Dedup;
using Xunit;

namespace Prox.Tests.Routing;

/// <summary>The route actor's lead/follow table for request coalescing, in virtual time.</summary>
public class RouteActorDedupTests : TestKit
{
    public RouteActorDedupTests()
        : base("akka.scheduler.implementation = \"Akka.TestKit.TestScheduler, Akka.TestKit\"")
    {
    }

    private TestScheduler Scheduler => (TestScheduler)Sys.Scheduler;

    private static RouteConfig Route(DedupConfig? dedup) => new RouteConfig(
        "api",
        new RouteMatch("/api", []),
        false,
        LoadBalancingPolicy.RoundRobin,
        [new BackendConfig("a:1", new Uri("http://a:1"), 1, null)],
        TimeoutsConfig.Default,
        RetryConfig.Default,
        PassiveConfig.Default,
        false,
        true) { Dedup = dedup };

    private IActorRef Start(RouteConfig cfg)
    {
        var parent = CreateTestProbe();
        var actor = parent.ChildActorOf(RouteActor.Props(cfg, new RouteSlot(cfg.Id)));
        parent.ExpectMsg<RouteSnapshotPublished>();
        return actor;
    }

    private CoalesceDecision Join(IActorRef actor, string key)
    {
        actor.Tell(new JoinOrLead(key), TestActor);
        return ExpectMsg<CoalesceDecision>();
    }

    private DedupStatus? Status(IActorRef actor)
    {
        actor.Tell(GetRouteStatus.Instance, TestActor);
        return ExpectMsg<RouteStatus>().Dedup;
    }

    [Fact]
    public void JoinOrLead_SameKey_FirstLeadsThenFollowSameEntry_OtherKeyLeads()
    {
        var actor = Start(Route(DedupConfig.Default));

        var first = Join(actor, "k");
        var second = Join(actor, "k");
        var third = Join(actor, "k");
        var other = Join(actor, "other");

        Assert.True(first.Leads);
        Assert.False(second.Leads);
        Assert.False(third.Leads);
        Assert.Same(first.Entry, second.Entry);
        Assert.Same(first.Entry, third.Entry);
        Assert.Equal(2, first.Entry!.Followers);
        Assert.True(other.Leads);
        Assert.NotSame(first.Entry, other.Entry);
        Assert.Equal(new DedupStatus(2, 2, 0, 2), Status(actor));
    }

    [Fact]
    public void LeaderDone_FreesTheKey_NextRequestLeadsAfresh()
    {
        var actor = Start(Route(DedupConfig.Default));
        var first = Join(actor, "k").Entry!;
        first.Share(new SharedResponse(200, [], ReadOnlyMemory<byte>.Empty));
        actor.Tell(new LeaderDone(first));

        var next = Join(actor, "k");

        Assert.True(next.Leads);
        Assert.NotSame(first, next.Entry);
        Assert.Equal(1, Status(actor)!.InFlightKeys);
    }

    [Fact]
    public void JoinOrLead_EntryDoneButNotYetRemoved_Leads()
    {
        var actor = Start(Route(DedupConfig.Default));
        var first = Join(actor, "k").Entry!;
        first.Release(); // its LeaderDone is still on the way

        Assert.True(Join(actor, "k").Leads);
    }

    [Fact]
    public void JoinOrLead_EntryOlderThanWindow_IsStale_NewLeader_AndOldLeaderDoneKeepsTheNewOne()
    {
        var actor = Start(Route(DedupConfig.Default with { Window = TimeSpan.FromSeconds(2) }));
        var stale = Join(actor, "k").Entry!;
        Scheduler.Advance(TimeSpan.FromSeconds(2));

        var fresh = Join(actor, "k");
        actor.Tell(new LeaderDone(stale)); // the stale leader finishing must not free the fresh leader's key
        var follower = Join(actor, "k");

        Assert.True(fresh.Leads);
        Assert.False(follower.Leads);
        Assert.Same(fresh.Entry, follower.Entry);
    }

    [Fact]
    public void JoinOrLead_DedupOffOrAbsent_NotCoalesced_NoStatus()
    {
        var off = Start(Route(DedupConfig.Default with { Enabled = false }));
        var none = Start(Route(null));

        Assert.Null(Join(off, "k").Entry);
        Assert.Null(Join(none, "k").Entry);
        Assert.Null(Status(none));
    }

    [Fact]
    public void UpdateRoute_TurningDedupOff_StopsCoalescing()
    {
        var actor = Start(Route(DedupConfig.Default));
        Assert.True(Join(actor, "k").Leads);

        actor.Tell(new UpdateRoute(Route(null), TimeSpan.FromSeconds(1)), TestActor);
        ExpectMsg<RouteUpdated>();

        Assert.Null(Join(actor, "k").Entry);
    }

    [Fact]
    public void FollowerWentOwnWay_IsCounted()
    {
        var actor = Start(Route(DedupConfig.Default));
        Join(actor, "k");
        Join(actor, "k");
        actor.Tell(FollowerWentOwnWay.Instance);

        Assert.Equal(new DedupStatus(1, 1, 1, 1), Status(actor));
    }
}
