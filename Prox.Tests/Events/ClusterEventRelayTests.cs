using Akka.Actor;
using Akka.Cluster.Tools.PublishSubscribe;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using Prox.Actors.Events;
using Prox.Actors.Webhooks;
using Xunit;

namespace Prox.Tests.Events;

/// <summary>The relay's side of reliable delivery to the Notifier singleton, in virtual time: the DistributedPubSub
/// mediator and the singleton's proxy are probes.</summary>
public sealed class ClusterEventRelayTests : TestKit
{
    private const string Node = "akka.tcp://prox@127.0.0.1:4053";

    public ClusterEventRelayTests()
        : base("akka.scheduler.implementation = \"Akka.TestKit.TestScheduler, Akka.TestKit\"")
    {
    }

    private TestScheduler Scheduler => (TestScheduler)Sys.Scheduler;

    private static readonly TimeSpan Interval = ClusterEventRelay.ResendInterval;

    private (IActorRef Relay, TestProbe Topic, TestProbe Notifier) Start(int maxUnacknowledged = ClusterEventRelay.MaxUnacknowledged)
    {
        var topic = CreateTestProbe();
        var notifier = CreateTestProbe();
        var relay = Sys.ActorOf(ClusterEventRelay.Props(Node, topic.Ref, maxUnacknowledged));
        relay.Tell(new RelayToNotifier(notifier.Ref));
        return (relay, topic, notifier);
    }

    private static ProxEvent Event(string detail) =>
        ProxEvent.Create(DateTimeOffset.UnixEpoch, ProxEventKinds.BackendDown, "api", "a", detail);

    [Fact]
    public void Unacknowledged_ResentAfterTheInterval_UntilAcknowledged()
    {
        var (relay, topic, notifier) = Start();
        var e = Event("e1");
        relay.Tell(e);
        var sent = notifier.ExpectMsg<ProxEvent>();
        Assert.Equal((e.Id, Node), (sent.Id, sent.Node));
        Assert.Equal(sent, topic.ExpectMsg<Publish>().Message);

        Scheduler.Advance(Interval - TimeSpan.FromMilliseconds(1));
        notifier.ExpectNoMsg(TimeSpan.FromMilliseconds(50));
        Scheduler.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(sent, notifier.ExpectMsg<ProxEvent>());
        Scheduler.Advance(Interval);
        Assert.Equal(sent, notifier.ExpectMsg<ProxEvent>());

        notifier.Reply(new EventAccepted(e.Id));
        // the ack is processed before the next tick (same sender, in order); then nothing is resent any more
        relay.Tell(Event("e2"));
        var e2 = notifier.ExpectMsg<ProxEvent>();
        notifier.Reply(new EventAccepted(e2.Id));
        Scheduler.Advance(Interval);
        Scheduler.Advance(Interval);
        notifier.ExpectNoMsg(TimeSpan.FromMilliseconds(100));
        topic.ExpectMsg<Publish>(); // e2 on the topic once; resends never go to the topic
        topic.ExpectNoMsg(TimeSpan.FromMilliseconds(50));
    }

    [Fact]
    public void SeveralUnacknowledged_ResentOldestFirst_OnlyTheUnacknowledged()
    {
        var (relay, _, notifier) = Start();
        var events = Enumerable.Range(1, 4).Select(i => Event($"e{i}")).ToArray();
        foreach (var e in events) relay.Tell(e);
        foreach (var e in events) Assert.Equal(e.Id, notifier.ExpectMsg<ProxEvent>().Id);
        relay.Tell(new EventAccepted(events[1].Id), notifier.Ref);
        relay.Tell(new EventAccepted(events[3].Id), notifier.Ref);

        Scheduler.Advance(Interval);
        Assert.Equal(events[0].Id, notifier.ExpectMsg<ProxEvent>().Id);
        Assert.Equal(events[2].Id, notifier.ExpectMsg<ProxEvent>().Id);
        notifier.ExpectNoMsg(TimeSpan.FromMilliseconds(50));
    }

    [Fact]
    public void Full_OldestDropped_NotResent()
    {
        var (relay, _, notifier) = Start(maxUnacknowledged: 2);
        var events = Enumerable.Range(1, 3).Select(i => Event($"e{i}")).ToArray();
        EventFilter.Warning(contains: "dropped the oldest").ExpectOne(() =>
        {
            foreach (var e in events) relay.Tell(e);
            foreach (var _ in events) notifier.ExpectMsg<ProxEvent>();
        });

        Scheduler.Advance(Interval);
        Assert.Equal(events[1].Id, notifier.ExpectMsg<ProxEvent>().Id);
        Assert.Equal(events[2].Id, notifier.ExpectMsg<ProxEvent>().Id);
        notifier.ExpectNoMsg(TimeSpan.FromMilliseconds(50));
    }

    [Fact]
    public void EventFromAnotherNode_NotRelayed()
    {
        var (relay, topic, notifier) = Start();
        relay.Tell(Event("shared elsewhere") with { Node = "akka.tcp://prox@127.0.0.1:4054" });
        Scheduler.Advance(Interval);
        notifier.ExpectNoMsg(TimeSpan.FromMilliseconds(50));
        topic.ExpectNoMsg(TimeSpan.FromMilliseconds(50));
    }
}
