using Prox.Actors.Events;
using Prox.Actors.Webhooks;
using Xunit;

namespace Prox.Tests.Webhooks;

public class WebhookOutboxTests
{
    private static ProxEvent E(int n) =>
        new($"id-{n}", DateTimeOffset.UnixEpoch.AddSeconds(n), ProxEventKinds.BackendDown, "r", "b", $"event {n}");

    private static string[] Ids(WebhookOutbox o) => o.Pending.Select(p => p.Id).ToArray();

    [Fact]
    public void Enqueue_KeepsOrder_HeadIsOldest()
    {
        var (o, _) = WebhookOutbox.Empty.Enqueue(E(1), 10);
        (o, _) = o.Enqueue(E(2), 10);

        Assert.Equal(["id-1", "id-2"], Ids(o));
        Assert.Equal("id-1", o.Head!.Id);
    }

    [Fact]
    public void Enqueue_Full_DropsOldestAndCounts()
    {
        var o = WebhookOutbox.Empty;
        ProxEvent? dropped = null;
        for (var i = 1; i <= 4; i++) (o, dropped) = o.Enqueue(E(i), 3);

        Assert.Equal("id-1", dropped!.Id);
        Assert.Equal(["id-2", "id-3", "id-4"], Ids(o));
        Assert.Equal(1, o.Dropped);
    }

    [Fact]
    public void Enqueue_SameEventTwice_Once()
    {
        var (o, _) = WebhookOutbox.Empty.Enqueue(E(1), 10);
        (o, var dropped) = o.Enqueue(E(1), 10);

        Assert.Equal(["id-1"], Ids(o));
        Assert.Null(dropped);
    }

    [Fact]
    public void Deliver_Head_RemovesAndCounts()
    {
        var (o, _) = WebhookOutbox.Empty.Enqueue(E(1), 10);
        (o, _) = o.Enqueue(E(2), 10);

        o = o.Deliver("id-1");

        Assert.Equal(["id-2"], Ids(o));
        Assert.Equal(1, o.Delivered);
    }

    [Fact]
    public void Deliver_UnknownId_Unchanged()
    {
        var (o, _) = WebhookOutbox.Empty.Enqueue(E(1), 10);

        Assert.Same(o, o.Deliver("id-dropped"));
    }

    [Fact]
    public void Empty_NoHead() => Assert.Null(WebhookOutbox.Empty.Head);
}
