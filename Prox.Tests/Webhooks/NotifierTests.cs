using System.Collections.Concurrent;
using System.Collections.Immutable;
using Akka.Actor;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using Prox.Actors.Events;
using Prox.Actors.Webhooks;
using Xunit;

namespace Prox.Tests.Webhooks;

/// <summary>The Notifier's ordering, retry and recovery, in virtual time with an in-memory journal and a scripted sender.</summary>
public class NotifierTests : TestKit
{
    public NotifierTests()
        : base($$"""
            akka.scheduler.implementation = "Akka.TestKit.TestScheduler, Akka.TestKit"
            akka.persistence.journal.plugin = "akka.persistence.journal.inmem"
            akka.persistence.snapshot-store.plugin = "akka.persistence.snapshot-store.inmem"
            {{NotifierSerializer.Hocon}}
            """)
    {
    }

    private TestScheduler Scheduler => (TestScheduler)Sys.Scheduler;

    /// <summary>Holds every POST until the test answers it, so in-flight requests can be counted.</summary>
    private sealed class ScriptedSender : IWebhookSender
    {
        public ConcurrentQueue<(WebhookRequest Request, TaskCompletionSource<WebhookResponse> Answer)> Calls { get; } = new();

        public Task<WebhookResponse> SendAsync(WebhookRequest request)
        {
            var answer = new TaskCompletionSource<WebhookResponse>(TaskCreationOptions.RunContinuationsAsynchronously);
            Calls.Enqueue((request, answer));
            return answer.Task;
        }

        public IReadOnlyList<(WebhookRequest Request, TaskCompletionSource<WebhookResponse> Answer)> For(string host) =>
            Calls.Where(c => c.Request.Url.Host == host).ToList();
    }

    private static readonly TimeSpan Backoff = TimeSpan.FromSeconds(1);

    // polling every 10 ms (the TestKit default is 100 ms) keeps the class well under a second per test
    private void Until(Func<bool> condition) => AwaitCondition(condition, TimeSpan.FromSeconds(3), TimeSpan.FromMilliseconds(10));

    private void UntilOk(Action assertion) => AwaitAssert(assertion, TimeSpan.FromSeconds(3), TimeSpan.FromMilliseconds(10));

    private static WebhookConfig Hook(string name, ImmutableArray<string>? events = null, int maxPending = 100) =>
        new(name, new Uri($"http://{name}.test/hook"), events, null, WebhookFormat.Json, TimeSpan.FromSeconds(5),
            Backoff, TimeSpan.FromSeconds(8), maxPending);

    private static int _seq;

    private static ProxEvent Event(string kind = ProxEventKinds.BackendDown) =>
        ProxEvent.Create(DateTimeOffset.UnixEpoch, kind, "r", "b", $"event {Interlocked.Increment(ref _seq)}");

    private static readonly NotifierOptions NoJitter = new(100, () => 0.5);

    private IActorRef Start(ScriptedSender sender, NotifierOptions? options = null, params WebhookConfig[] hooks) =>
        Sys.ActorOf(Notifier.Props([.. hooks], sender, options ?? NoJitter, "notifier-test"));

    private WebhookStatus StatusOf(IActorRef notifier, string name) =>
        notifier.Ask<WebhookStatusReply>(GetWebhookStatus.Instance, TimeSpan.FromSeconds(3)).Result.Webhooks.Single(w => w.Name == name);

    private static string EventId(WebhookRequest r) => r.Headers.Single(h => h.Key == "Idempotency-Key").Value;

    private static string Attempt(WebhookRequest r) => r.Headers.Single(h => h.Key == "X-Prox-Delivery-Attempt").Value;

    [Fact]
    public void TwoEvents_OnePostInFlight_SecondAfterFirstDelivered()
    {
        var sender = new ScriptedSender();
        var notifier = Start(sender, null, Hook("a"));
        var (e1, e2) = (Event(), Event());

        notifier.Tell(e1);
        notifier.Tell(e2);
        Until(() => sender.Calls.Count == 1);
        UntilOk(() => Assert.Equal(2, StatusOf(notifier, "a").Pending));
        Assert.Single(sender.Calls); // strictly one in flight per webhook
        Assert.Equal(e1.Id, EventId(sender.Calls.Single().Request));

        sender.Calls.Single().Answer.SetResult(new WebhookResponse(204, null));
        Until(() => sender.Calls.Count == 2);
        Assert.Equal(e2.Id, EventId(sender.Calls.Last().Request));
        sender.Calls.Last().Answer.SetResult(new WebhookResponse(200, null));

        UntilOk(() =>
        {
            var s = StatusOf(notifier, "a");
            Assert.Equal((0, 2L, 0L), (s.Pending, s.Delivered, s.FailedAttempts));
        });
    }

    [Fact]
    public void FailedPost_RetriedAfterBackoff_InOrder_AttemptCounted()
    {
        var sender = new ScriptedSender();
        var notifier = Start(sender, null, Hook("a"));
        var (e1, e2) = (Event(), Event());
        notifier.Tell(e1);
        notifier.Tell(e2);
        Until(() => sender.Calls.Count == 1);

        sender.Calls.Single().Answer.SetResult(new WebhookResponse(503, "HTTP 503"));
        UntilOk(() => Assert.Equal(1, StatusOf(notifier, "a").FailedAttempts));
        var status = StatusOf(notifier, "a");
        Assert.Equal("HTTP 503", status.LastError);
        Assert.Equal(Scheduler.Now + Backoff, status.NextAttemptAt);

        Scheduler.Advance(Backoff - TimeSpan.FromMilliseconds(1));
        Assert.Single(sender.Calls); // not before the backoff
        Scheduler.Advance(TimeSpan.FromMilliseconds(1));
        Until(() => sender.Calls.Count == 2);
        var retry = sender.Calls.Last().Request;
        Assert.Equal(e1.Id, EventId(retry)); // the failed event again, not the next one
        Assert.Equal("2", Attempt(retry));

        sender.Calls.Last().Answer.SetResult(new WebhookResponse(0, "connection failed"));
        UntilOk(() => Assert.Equal(2, StatusOf(notifier, "a").FailedAttempts));
        Scheduler.Advance(Backoff); // the second failure waits twice as long
        Assert.Equal(2, sender.Calls.Count);
        Scheduler.Advance(Backoff);
        Until(() => sender.Calls.Count == 3);
        Assert.Equal("3", Attempt(sender.Calls.Last().Request));

        sender.Calls.Last().Answer.SetResult(new WebhookResponse(200, null));
        Until(() => sender.Calls.Count == 4);
        Assert.Equal(e2.Id, EventId(sender.Calls.Last().Request));
        Assert.Equal("1", Attempt(sender.Calls.Last().Request));
    }

    [Fact]
    public void OneWebhookHanging_OtherStillDelivers()
    {
        var sender = new ScriptedSender();
        var notifier = Start(sender, null, Hook("stuck"), Hook("ok"));

        notifier.Tell(Event());
        notifier.Tell(Event());
        Until(() => sender.For("ok.test").Count == 1);
        sender.For("ok.test")[0].Answer.SetResult(new WebhookResponse(200, null));
        Until(() => sender.For("ok.test").Count == 2);
        sender.For("ok.test")[1].Answer.SetResult(new WebhookResponse(200, null));

        UntilOk(() => Assert.Equal(2, StatusOf(notifier, "ok").Delivered));
        Assert.Single(sender.For("stuck.test")); // its first POST never answered; nothing else sent to it
        Assert.Equal(2, StatusOf(notifier, "stuck").Pending);
    }

    [Fact]
    public void EventsFilter_OnlyWantedKinds()
    {
        var sender = new ScriptedSender();
        var notifier = Start(sender, null, Hook("a", [ProxEventKinds.PoolDown]));

        notifier.Tell(Event(ProxEventKinds.BackendDown));
        notifier.Tell(Event(ProxEventKinds.PoolDown));

        Until(() => sender.Calls.Count == 1);
        Assert.Equal(ProxEventKinds.PoolDown, sender.Calls.Single().Request.Headers.Single(h => h.Key == "X-Prox-Event").Value);
        Assert.Equal(1, StatusOf(notifier, "a").Pending);
    }

    [Fact]
    public void OutboxFull_OldestDropped_Counted()
    {
        var sender = new ScriptedSender();
        var notifier = Start(sender, null, Hook("a", maxPending: 2));

        var events = Enumerable.Range(0, 4).Select(_ => Event()).ToArray();
        foreach (var e in events) notifier.Tell(e);

        UntilOk(() =>
        {
            var s = StatusOf(notifier, "a");
            Assert.Equal((2, 2L), (s.Pending, s.Dropped));
        });
        Until(() => sender.Calls.Count == 1);
        sender.Calls.Single().Answer.SetResult(new WebhookResponse(200, null)); // e0 was in flight, then dropped
        Until(() => sender.Calls.Count == 2);
        Assert.Equal(events[2].Id, EventId(sender.Calls.Last().Request));
    }

    [Theory]
    [InlineData(100)] // recovery replays the journal
    [InlineData(1)]   // recovery starts from a snapshot taken after each delivery
    public void Restart_UndeliveredEventsRedelivered_DeliveredOnesNot(int snapshotEvery)
    {
        var sender = new ScriptedSender();
        var options = NoJitter with { SnapshotEvery = snapshotEvery };
        var notifier = Start(sender, options, Hook("a"));
        var (e1, e2, e3) = (Event(), Event(), Event());
        foreach (var e in new[] { e1, e2, e3 }) notifier.Tell(e);
        Until(() => sender.Calls.Count == 1);
        sender.Calls.Single().Answer.SetResult(new WebhookResponse(200, null));
        Until(() => sender.Calls.Count == 2); // e2 in flight, never answered

        Watch(notifier);
        Sys.Stop(notifier);
        ExpectTerminated(notifier);
        var again = new ScriptedSender();
        var restarted = Start(again, options, Hook("a"));

        Until(() => again.Calls.Count == 1);
        Assert.Equal(e2.Id, EventId(again.Calls.Single().Request));
        again.Calls.Single().Answer.SetResult(new WebhookResponse(200, null));
        Until(() => again.Calls.Count == 2);
        Assert.Equal(e3.Id, EventId(again.Calls.Last().Request));
        var s = StatusOf(restarted, "a");
        Assert.Equal(2, s.Delivered); // totals survive too
    }

    private static readonly NotifierOptions Acknowledging = NoJitter with { AcknowledgeEvents = true };

    [Fact]
    public void ResentEvent_EnqueuedOnce_AcknowledgedTwice()
    {
        var sender = new ScriptedSender();
        var relay = CreateTestProbe();
        var notifier = Start(sender, Acknowledging, Hook("a"), Hook("b"));
        var e = Event();

        notifier.Tell(e, relay.Ref);
        Assert.Equal(e.Id, relay.ExpectMsg<EventAccepted>().EventId); // stored for both webhooks by then
        notifier.Tell(e, relay.Ref); // the relay's resend: its ack crossed it
        Assert.Equal(e.Id, relay.ExpectMsg<EventAccepted>().EventId);

        Until(() => sender.Calls.Count == 2);
        Assert.Equal(1, StatusOf(notifier, "a").Pending);
        Assert.Equal(1, StatusOf(notifier, "b").Pending);
        Assert.Equal(2, sender.Calls.Count); // one POST per webhook, not two
    }

    [Fact]
    public void EventNoWebhookWants_AcknowledgedAtOnce_NothingStored()
    {
        var sender = new ScriptedSender();
        var relay = CreateTestProbe();
        var notifier = Start(sender, Acknowledging, Hook("a", [ProxEventKinds.PoolDown]));
        var e = Event(ProxEventKinds.BackendUp);

        notifier.Tell(e, relay.Ref);
        Assert.Equal(e.Id, relay.ExpectMsg<EventAccepted>().EventId);
        Assert.Equal(0, StatusOf(notifier, "a").Pending);
        Assert.Empty(sender.Calls);
    }

    [Fact]
    public void RepeatedPoolEventDropped_Acknowledged_ItsResendStaysDropped()
    {
        var sender = new ScriptedSender();
        var relay = CreateTestProbe();
        var notifier = Start(sender, Acknowledging with { DropRepeatedStates = true }, Hook("a"));
        var (down1, down2, up) = (Event(ProxEventKinds.PoolDown), Event(ProxEventKinds.PoolDown), Event(ProxEventKinds.PoolUp));

        foreach (var e in new[] { down1, down2, up }) notifier.Tell(e, relay.Ref);
        Assert.Equal([down1.Id, down2.Id, up.Id], relay.ReceiveN(3).Cast<EventAccepted>().Select(m => m.EventId));
        // down2's resend after the pool came up must not pass as a new transition
        notifier.Tell(down2, relay.Ref);
        Assert.Equal(down2.Id, relay.ExpectMsg<EventAccepted>().EventId);
        UntilOk(() => Assert.Equal(2, StatusOf(notifier, "a").Pending));
    }

    [Theory]
    [InlineData(false)] // standalone: never acknowledges
    [InlineData(true)]  // acknowledging, but an event without a sender has nobody to answer
    public void EventWithoutRelay_NotAcknowledged_NoDeadLetters(bool acknowledging)
    {
        var sender = new ScriptedSender();
        var notifier = Start(sender, acknowledging ? Acknowledging : NoJitter, Hook("a"));
        var relay = CreateTestProbe();
        Sys.EventStream.Subscribe(relay.Ref, typeof(Akka.Event.DeadLetter));

        notifier.Tell(Event(), ActorRefs.NoSender); // what the event stream does
        if (acknowledging) notifier.Tell(Event(), ActorRefs.Nobody);
        else notifier.Tell(Event(), relay.Ref);
        Until(() => sender.Calls.Count == 1);
        UntilOk(() => Assert.Equal(2, StatusOf(notifier, "a").Pending));
        relay.ExpectNoMsg(TimeSpan.FromMilliseconds(100)); // neither an ack nor a dead letter
    }

    [Theory]
    [InlineData(100)] // the accepted ids are rebuilt from the replayed WebhookEnqueued events
    [InlineData(1)]   // the accepted ids come from the snapshot (the journal before it is deleted)
    public void Restart_ResentEventAlreadyAccepted_AcknowledgedNotEnqueuedAgain(int snapshotEvery)
    {
        var sender = new ScriptedSender();
        var relay = CreateTestProbe();
        var options = Acknowledging with { SnapshotEvery = snapshotEvery };
        var notifier = Start(sender, options, Hook("a"));
        var (e1, e2) = (Event(), Event());
        notifier.Tell(e1, relay.Ref);
        notifier.Tell(e2, relay.Ref);
        relay.ReceiveN(2);
        Until(() => sender.Calls.Count == 1);
        sender.Calls.Single().Answer.SetResult(new WebhookResponse(200, null));
        Until(() => sender.Calls.Count == 2);
        sender.Calls.Last().Answer.SetResult(new WebhookResponse(200, null));
        UntilOk(() => Assert.Equal(2, StatusOf(notifier, "a").Delivered));

        Watch(notifier);
        Sys.Stop(notifier);
        ExpectTerminated(notifier);
        var again = new ScriptedSender();
        var restarted = Start(again, options, Hook("a"));
        restarted.Tell(e1, relay.Ref); // a resend that was on its way while the Notifier moved
        restarted.Tell(e2, relay.Ref);

        Assert.Equal([e1.Id, e2.Id], relay.ReceiveN(2).Cast<EventAccepted>().Select(m => m.EventId));
        var s = StatusOf(restarted, "a");
        Assert.Equal((0, 2L), (s.Pending, s.Delivered));
        Assert.Empty(again.Calls);
    }

    [Fact]
    public void Snapshot_StoredBeforeAcceptedIds_StillLoads()
    {
        const string oldShape = """
            {"outboxes":[{"webhook":"a","delivered":3,"dropped":1,"pending":[
              {"id":"0000000003e8-0000abcd","timestamp":"2026-11-26T12:00:00+00:00","kind":"backend-down","route":"r","backend":"b","detail":"d"}]}]}
            """;
        var serializer = (NotifierSerializer)Sys.Serialization.FindSerializerForType(typeof(NotifierSnapshot));

        var back = (NotifierSnapshot)serializer.FromBinary(System.Text.Encoding.UTF8.GetBytes(oldShape), NotifierSerializer.SnapshotManifest);

        Assert.Null(back.AcceptedEventIds);
        var outbox = Assert.Single(back.Outboxes);
        Assert.Equal(("a", 3L, 1L, "0000000003e8-0000abcd"), (outbox.Webhook, outbox.Delivered, outbox.Dropped, outbox.Pending.Single().Id));
    }

    [Fact]
    public void Serializer_BoundForPersistedTypes_RoundTrips()
    {
        var e = Event();
        object[] values =
        [
            new WebhookEnqueued("a", e),
            new WebhookDelivered("a", e.Id),
            new NotifierSnapshot([new OutboxSnapshot("a", 3, 1, [e])]),
            new NotifierSnapshot([new OutboxSnapshot("a", 3, 1, [e])], [e.Id, "0000000003e8-0000abcd"]),
        ];
        foreach (var value in values)
        {
            var serializer = Sys.Serialization.FindSerializerFor(value);
            Assert.IsType<NotifierSerializer>(serializer);
            var manifest = ((NotifierSerializer)serializer).Manifest(value);
            var back = Sys.Serialization.Deserialize(serializer.ToBinary(value), serializer.Identifier, manifest);
            Assert.Equal(System.Text.Json.JsonSerializer.Serialize(value, value.GetType()),
                System.Text.Json.JsonSerializer.Serialize(back, back.GetType()));
        }
    }
}
