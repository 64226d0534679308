using Akka.Actor;
using Akka.TestKit.Xunit2;
using Prox.Actors.Events;
using Xunit;

namespace Prox.Tests.Events;

public class EventLogTests : TestKit
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 26, 10, 0, 0, TimeSpan.Zero);

    private static ProxEvent Ev(int i) => ProxEvent.Create(T0.AddSeconds(i), ProxEventKinds.PoolDown, "r", null, $"e{i}");

    private IActorRef StartLog(int capacity)
    {
        var log = Sys.ActorOf(EventLog.Props(capacity));
        // the log subscribes in PreStart; a round trip proves it has started
        log.Tell(new GetEvents(null, 1));
        ExpectMsg<EventsPage>();
        return log;
    }

    private EventsPage Page(IActorRef log, string? since, int limit)
    {
        log.Tell(new GetEvents(since, limit));
        return ExpectMsg<EventsPage>();
    }

    [Fact]
    public void Published_Events_AreKept_NewestLimitWithoutSince()
    {
        var log = StartLog(100);
        for (var i = 0; i < 5; i++) Sys.EventStream.Publish(Ev(i));

        AwaitAssert(() => Assert.Equal(5, Page(log, null, 100).Events.Length));
        Assert.Equal(["e3", "e4"], Page(log, null, 2).Events.Select(e => e.Detail));
    }

    [Fact]
    public void Capacity_DropsOldest()
    {
        var log = StartLog(3);
        for (var i = 0; i < 10; i++) Sys.EventStream.Publish(Ev(i));

        AwaitAssert(() => Assert.Equal(["e7", "e8", "e9"], Page(log, null, 100).Events.Select(e => e.Detail)));
    }

    [Fact]
    public void Since_PagesForwardInOrder_WithMoreFlag()
    {
        var log = StartLog(100);
        var events = Enumerable.Range(0, 5).Select(Ev).ToArray();
        foreach (var e in events) Sys.EventStream.Publish(e);
        AwaitAssert(() => Assert.Equal(5, Page(log, null, 100).Events.Length));

        var first = Page(log, events[0].Id, 2);
        Assert.Equal(["e1", "e2"], first.Events.Select(e => e.Detail));
        Assert.True(first.More);
        var second = Page(log, first.Events[^1].Id, 2);
        Assert.Equal(["e3", "e4"], second.Events.Select(e => e.Detail));
        Assert.False(second.More);
        Assert.Empty(Page(log, events[4].Id, 2).Events);
    }

    [Fact]
    public void Since_EventsInTheSameMillisecond_NoneSkipped()
    {
        var log = StartLog(100);
        // same timestamp: ids differ only in their random part, so their order is arbitrary
        var events = Enumerable.Range(0, 20).Select(i => ProxEvent.Create(T0, ProxEventKinds.PoolUp, "r", null, $"e{i}")).ToArray();
        foreach (var e in events) Sys.EventStream.Publish(e);
        AwaitAssert(() => Assert.Equal(20, Page(log, null, 100).Events.Length));

        for (var i = 0; i < 19; i++)
            Assert.Equal($"e{i + 1}", Page(log, events[i].Id, 1).Events.Single().Detail);
    }

    [Fact]
    public void Ids_SortByTime()
    {
        var a = ProxEvent.Create(T0, "x", null, null, "");
        var b = ProxEvent.Create(T0.AddMilliseconds(1), "x", null, null, "");
        Assert.True(string.CompareOrdinal(a.Id, b.Id) < 0);
    }
}
