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

    [Fact]
    public void Serializer_BoundForPersistedTypes_RoundTrips()
    {
        var e = Event();
        object[] values =
        [
            new WebhookEnqueued("a", e),
            new WebhookDelivered("a", e.Id),
            new NotifierSnapshot([new OutboxSnapshot("a", 3, 1, [e])]),
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
