using System.Collections.Concurrent;
using Akka.Actor;
using Akka.Configuration;
using Akka.TestKit.Xunit2;
using Microsoft.Data.Sqlite;
using Prox.Actors.Events;
using Prox.Actors.Webhooks;
using Xunit;

namespace Prox.Tests.Webhooks;

/// <summary>The Notifier on the real journal (Akka.Persistence.Sql on a SQLite file): snapshots, journal trimming and
/// recovery through the System.Text.Json serializer.</summary>
public sealed class NotifierSqliteTests : TestKit
{
    private readonly string _dir;

    public NotifierSqliteTests()
        : this(Path.Combine(Path.GetTempPath(), "prox-notifier-" + Guid.NewGuid().ToString("N")))
    {
    }

    private NotifierSqliteTests(string dir)
        : base(Config(dir))
    {
        _dir = dir;
    }

    private static Akka.Configuration.Config Config(string dir) => Infrastructure.TestJournal.Sqlite(dir, NotifierSerializer.Hocon);

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

    [Fact]
    public void SnapshotsEveryTwoDeliveries_Restart_RecoversFromSnapshotAndJournal()
    {
        var options = new NotifierOptions(2, () => 0.5);
        var sender = new Sender();
        var events = Enumerable.Range(1, 5)
            .Select(i => ProxEvent.Create(DateTimeOffset.UnixEpoch.AddSeconds(i), ProxEventKinds.PoolDown, "r", null, $"e{i}")).ToArray();
        sender.Hold[events[4].Id] = true;
        var notifier = Sys.ActorOf(Notifier.Props([Hook], sender, options));

        foreach (var e in events) notifier.Tell(e);
        Until(() => sender.Sent.Count == 5);
        Until(() => notifier.Ask<WebhookStatusReply>(GetWebhookStatus.Instance).Result.Webhooks[0].Delivered == 4);
        // the second snapshot (after 4 deliveries) replaces the first; written with our serializer's stable manifest
        Until(() => Query("select cast(snapshot as text) from snapshot") is [var only] && only.Contains("\"delivered\":4"));
        Assert.Equal(["notifier-snapshot.v1"], Query("select manifest from snapshot"));
        Assert.Equal(["4101"], Query("select serializer_id from snapshot"));
        Watch(notifier);
        Sys.Stop(notifier);
        ExpectTerminated(notifier);

        var again = new Sender();
        var restarted = Sys.ActorOf(Notifier.Props([Hook], again, options));
        Until(() => !again.Sent.IsEmpty);
        Assert.Equal([events[4].Id], again.Sent.ToArray());
        Until(() => restarted.Ask<WebhookStatusReply>(GetWebhookStatus.Instance).Result.Webhooks[0] is { Pending: 0, Delivered: 5 });
    }

    private string[] Query(string sql)
    {
        using var connection = new SqliteConnection($"Data Source={Path.Combine(_dir, "prox.db")}");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        using var reader = command.ExecuteReader();
        var rows = new List<string>();
        while (reader.Read()) rows.Add(Convert.ToString(reader.GetValue(0), System.Globalization.CultureInfo.InvariantCulture)!);
        return [.. rows];
    }

    protected override void AfterAll()
    {
        base.AfterAll();
        SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
            // a connection still closing; the OS temp cleaner gets it
        }
    }
}
