using System.Collections.Concurrent;
using Akka.Actor;
using Akka.TestKit.Xunit2;
using Prox.Actors.Events;
using Prox.Actors.Webhooks;
using Prox.Tests.Infrastructure;
using Xunit;

namespace Prox.Tests.Postgres;

/// <summary>The webhook outbox (Notifier) on PostgreSQL, on a database of its own: undelivered events survive a restart.</summary>
public sealed class NotifierPostgresTests : TestKit
{
    private readonly Lazy<PgTestDatabase> _db;

    public NotifierPostgresTests()
        : this(new Lazy<PgTestDatabase>(() => new PgTestDatabase()))
    {
    }

    private NotifierPostgresTests(Lazy<PgTestDatabase> db)
        : base(PgTestDatabase.AdminConnectionString is null ? Akka.Configuration.ConfigurationFactory.Empty : Infrastructure.TestJournal.Postgres(db.Value, NotifierSerializer.Hocon))
    {
        _db = db;
    }

    /// <summary>Answers every POST at once: 200 unless the event id is listed in <see cref="Hold"/> (never answered).</summary>
    private sealed class Sender : IWebhookSender
    {
        public ConcurrentQueue<string> Sent { get; } = new();
        public ConcurrentDictionary<string, bool> Hold { get; } = new();

        public Task<WebhookResponse> SendAsync(WebhookRequest request)
        {
            var id = request.Headers.Single(h => h.Key == "Idempotency-Key").Value;
            Sent.Enqueue(id);
            return Hold.ContainsKey(id) ? new TaskCompletionSource<WebhookResponse>().Task : Task.FromResult(new WebhookResponse(200, null));
        }
    }

    private static readonly WebhookConfig Hook = new("a", new Uri("http://a.test/"), null, null, WebhookFormat.Json,
        TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(5), 100);

    private void Until(Func<bool> condition) => AwaitCondition(condition, TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(10));

    [PostgresFact]
    public void UndeliveredEvents_Restart_DeliveredAfterRecovery_FromSnapshotAndJournal()
    {
        var options = new NotifierOptions(2, () => 0.5);
        var sender = new Sender();
        var events = Enumerable.Range(1, 5)
            .Select(i => ProxEvent.Create(DateTimeOffset.UnixEpoch.AddSeconds(i), ProxEventKinds.PoolDown, "r", null, $"e{i}")).ToArray();
        sender.Hold[events[3].Id] = true;
        sender.Hold[events[4].Id] = true;
        var notifier = Sys.ActorOf(Notifier.Props([Hook], sender, options));

        foreach (var e in events) notifier.Tell(e);
        Until(() => sender.Sent.Count >= 4);
        Until(() => notifier.Ask<WebhookStatusReply>(GetWebhookStatus.Instance).Result.Webhooks[0] is { Delivered: 3, Pending: 2 });
        Until(() => _db.Value.Query("select count(*) from snapshot") is ["1"]);
        Watch(notifier);
        Sys.Stop(notifier);
        ExpectTerminated(notifier);

        var again = new Sender();
        var restarted = Sys.ActorOf(Notifier.Props([Hook], again, options));
        Until(() => again.Sent.Count >= 2);
        Assert.Equal(new[] { events[3].Id, events[4].Id }.Order(), again.Sent.Distinct().Order());
        Until(() => restarted.Ask<WebhookStatusReply>(GetWebhookStatus.Instance).Result.Webhooks[0] is { Pending: 0, Delivered: 5 });
    }

    protected override void AfterAll()
    {
        base.AfterAll();
        if (_db.IsValueCreated) _db.Value.Dispose();
    }
}
