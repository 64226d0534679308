using Akka.Actor;
using Akka.Configuration;
using Akka.TestKit.Xunit2;
using Microsoft.Data.Sqlite;
using Prox.Actors.ConfigHistory;
using Xunit;

namespace Prox.Tests.ConfigHistory;

/// <summary>The ConfigStore on the real journal (Akka.Persistence.Sql on a SQLite file): retention, snapshots,
/// journal trimming, and recovery through the System.Text.Json serializer.</summary>
public sealed class ConfigStoreSqliteTests : TestKit
{
    private readonly string _dir;

    public ConfigStoreSqliteTests()
        : this(Path.Combine(Path.GetTempPath(), "prox-config-" + Guid.NewGuid().ToString("N")))
    {
    }

    private ConfigStoreSqliteTests(string dir)
        : base(Config(dir))
    {
        _dir = dir;
    }

    private static Akka.Configuration.Config Config(string dir) => Infrastructure.TestJournal.Sqlite(dir, ConfigStoreSerializer.Hocon);

    private void Until(Func<bool> condition) => AwaitCondition(condition, TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(10));

    private static async Task<ConfigVersion> Record(IActorRef store, string source, string text) =>
        (await store.Ask<ConfigVersionRecorded>(new RecordConfigVersion(source, source, "c", text), TimeSpan.FromSeconds(10))).Version;

    [Fact]
    public async Task KeepThree_SevenVersions_OnlyNewestThreeKept_JournalBounded_RestartContinuesNumbering()
    {
        var store = Sys.ActorOf(ConfigStore.Props(3));
        await Record(store, ConfigSources.File, "file text");
        for (var i = 2; i <= 7; i++) await Record(store, ConfigSources.Api, $"api {i}");

        var page = await store.Ask<ConfigVersionsPage>(new GetConfigVersions(null, 100));
        Assert.Equal([7L, 6, 5], page.Versions.Select(v => v.Number));
        Assert.Null((await store.Ask<ConfigVersionReply>(new GetConfigVersion(4))).Version);
        // snapshots after versions 3 and 6 each delete the journal and snapshots before them
        // (the plugin keeps the highest deleted row as a marker of the sequence number)
        Until(() => Query("select count(*) from journal where deleted = 0") is ["1"] && Query("select count(*) from journal") is ["2"]
                    && Query("select count(*) from snapshot") is ["1"]);
        Assert.Equal(["config-store-snapshot.v1"], Query("select manifest from snapshot"));
        Assert.Equal(["4102"], Query("select serializer_id from snapshot"));
        Watch(store);
        Sys.Stop(store);
        ExpectTerminated(store);

        var again = Sys.ActorOf(ConfigStore.Props(3));
        var state = await again.Ask<ConfigStoreState>(GetConfigStoreState.Instance, TimeSpan.FromSeconds(10));
        Assert.Equal(7, state.Latest!.Number);
        Assert.Equal("api 7", state.Latest.Text);
        Assert.Equal("file text", state.LastFileText); // its version was trimmed, its text is still known
        Assert.Equal(8, (await Record(again, ConfigSources.Api, "api 8")).Number);
    }

    [Fact]
    public async Task Record_UnlessSameAsLatest_SameText_NothingRecorded()
    {
        var store = Sys.ActorOf(ConfigStore.Props(10));
        await Record(store, ConfigSources.File, "a");

        var again = await store.Ask<ConfigVersionRecorded>(new RecordConfigVersion(ConfigSources.File, "file", "reload", "a", UnlessSameAsLatest: true));

        Assert.False(again.Recorded);
        Assert.Equal(1, again.Version.Number);
        Assert.Equal(2, (await Record(store, ConfigSources.File, "a")).Number); // without the flag: recorded
    }

    [Fact]
    public async Task Versions_Paged_NewestFirst_NextUntilTheEnd()
    {
        var store = Sys.ActorOf(ConfigStore.Props(10));
        for (var i = 1; i <= 5; i++) await Record(store, ConfigSources.Api, $"t{i}");

        var first = await store.Ask<ConfigVersionsPage>(new GetConfigVersions(null, 2));
        var second = await store.Ask<ConfigVersionsPage>(new GetConfigVersions(first.Next, 2));
        var last = await store.Ask<ConfigVersionsPage>(new GetConfigVersions(second.Next, 2));

        Assert.Equal([5L, 4], first.Versions.Select(v => v.Number));
        Assert.Equal([3L, 2], second.Versions.Select(v => v.Number));
        Assert.Equal([1L], last.Versions.Select(v => v.Number));
        Assert.Null(last.Next);
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
