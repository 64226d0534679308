using Prox.Actors.Events;
using Xunit;

namespace Prox.Tests.Events;

public class RelayOutboxTests
{
    private static readonly DateTimeOffset T0 = DateTimeOffset.UnixEpoch;
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(2);

    private static ProxEvent Event(int i) => new($"e{i}", T0, ProxEventKinds.BackendDown, "r", "b", $"event {i}");

    [Fact]
    public void Due_OnlyThoseSentLongEnoughAgo_OldestFirst_MarkedSentAgain()
    {
        var outbox = new RelayOutbox(10);
        outbox.Add(Event(1), T0);
        outbox.Add(Event(2), T0.AddSeconds(1));
        outbox.Add(Event(3), T0.AddSeconds(0.5));

        Assert.Empty(outbox.Due(T0.AddSeconds(1.9), Wait, 100));
        Assert.Equal(["e1", "e3"], outbox.Due(T0.AddSeconds(2.5), Wait, 100).Select(e => e.Id));
        // e1 and e3 were just resent; e2 is due now
        Assert.Equal(["e2"], outbox.Due(T0.AddSeconds(3), Wait, 100).Select(e => e.Id));
        Assert.Equal(["e1", "e2", "e3"], outbox.Due(T0.AddSeconds(5), Wait, 100).Select(e => e.Id));
    }

    [Fact]
    public void Due_AtMostMax_RestOnTheNextCall()
    {
        var outbox = new RelayOutbox(10);
        for (var i = 1; i <= 5; i++) outbox.Add(Event(i), T0);

        Assert.Equal(["e1", "e2"], outbox.Due(T0.AddSeconds(2), Wait, 2).Select(e => e.Id));
        Assert.Equal(["e3", "e4"], outbox.Due(T0.AddSeconds(2), Wait, 2).Select(e => e.Id));
        Assert.Equal(["e5"], outbox.Due(T0.AddSeconds(2), Wait, 2).Select(e => e.Id));
    }

    [Fact]
    public void Accept_ForgetsTheEvent_UnknownIdChangesNothing()
    {
        var outbox = new RelayOutbox(10);
        outbox.Add(Event(1), T0);
        outbox.Add(Event(2), T0);

        Assert.True(outbox.Accept("e2"));
        Assert.False(outbox.Accept("e2"));
        Assert.False(outbox.Accept("unknown"));
        Assert.Equal(1, outbox.Count);
        Assert.Equal(["e1"], outbox.Due(T0.AddSeconds(2), Wait, 100).Select(e => e.Id));
    }

    [Fact]
    public void Add_BeyondCapacity_DropsOldest_Counted()
    {
        var outbox = new RelayOutbox(2);
        Assert.Null(outbox.Add(Event(1), T0));
        Assert.Null(outbox.Add(Event(2), T0));
        Assert.Equal("e1", outbox.Add(Event(3), T0)?.Id);

        Assert.Equal((2, 1L), (outbox.Count, outbox.Dropped));
        Assert.Equal(["e2", "e3"], outbox.Due(T0.AddSeconds(2), Wait, 100).Select(e => e.Id));
        Assert.False(outbox.Accept("e1"));
    }

    [Fact]
    public void Add_SameIdTwice_KeptOnce()
    {
        var outbox = new RelayOutbox(10);
        outbox.Add(Event(1), T0);
        Assert.Null(outbox.Add(Event(1), T0));
        Assert.Equal(1, outbox.Count);
    }
}
