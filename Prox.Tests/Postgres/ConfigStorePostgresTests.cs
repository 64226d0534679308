using Akka.Actor;
using Akka.TestKit.Xunit2;
using Prox.Actors.ConfigHistory;
using Prox.Tests.Infrastructure;
using Xunit;

namespace Prox.Tests.Postgres;

/// <summary>The ConfigStore on PostgreSQL (Akka.Persistence.Sql, provider PostgreSQL15), each test on a database of its
/// own: retention, snapshots, journal trimming, and versions that survive a restart.</summary>
public sealed class ConfigStorePostgresTests : TestKit
{
    private readonly Lazy<PgTestDatabase> _db;

    public ConfigStorePostgresTests()
        : this(new Lazy<PgTestDatabase>(() => new PgTestDatabase()))
    {
    }

    private ConfigStorePostgresTests(Lazy<PgTestDatabase> db)
        : base(PgTestDatabase.AdminConnectionString is null ? Akka.Configuration.ConfigurationFactory.Empty : Infrastructure.TestJournal.Postgres(db.Value, ConfigStoreSerializer.Hocon))
    {
        _db = db;
    }

    // trimming runs after the reply, as deletes on a shared server: generous under a loaded suite, polled every 10 ms
    private void Until(Func<bool> condition) => AwaitCondition(condition, TimeSpan.FromSeconds(30), TimeSpan.FromMilliseconds(10));

    private static async Task<ConfigVersion> Record(IActorRef store, string source, string text) =>
        (await store.Ask<ConfigVersionRecorded>(new RecordConfigVersion(source, source, "c", text), TimeSpan.FromSeconds(10))).Version;

    [PostgresFact]
    public async Task KeepThree_SevenVersions_OnlyNewestThreeKept_JournalBounded_RestartContinuesNumbering()
    {
        var store = Sys.ActorOf(ConfigStore.Props(3));
        await Record(store, ConfigSources.File, "file text");
        for (var i = 2; i <= 7; i++) await Record(store, ConfigSources.Api, $"api {i}");

        var page = await store.Ask<ConfigVersionsPage>(new GetConfigVersions(null, 100));
        Assert.Equal([7L, 6, 5], page.Versions.Select(v => v.Number));
        Until(() => _db.Value.Query("select count(*) from journal where deleted = false") is ["1"]
                    && _db.Value.Query("select count(*) from snapshot") is ["1"]);
        Assert.Equal(["config-store-snapshot.v1"], _db.Value.Query("select manifest from snapshot"));
        Watch(store);
        Sys.Stop(store);
        ExpectTerminated(store);

        var again = Sys.ActorOf(ConfigStore.Props(3));
        var state = await again.Ask<ConfigStoreState>(GetConfigStoreState.Instance, TimeSpan.FromSeconds(10));
        Assert.Equal(7, state.Latest!.Number);
        Assert.Equal("api 7", state.Latest.Text);
        Assert.Equal("file text", state.LastFileText);
        Assert.Equal(8, (await Record(again, ConfigSources.Api, "api 8")).Number);
    }

    protected override void AfterAll()
    {
        base.AfterAll();
        if (_db.IsValueCreated) _db.Value.Dispose();
    }
}
