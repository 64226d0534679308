using System.Collections.Immutable;
using Prox.Actors.Cluster.Membership;
using Prox.Actors.Config;
using Prox.Actors.ConfigApply;
using Prox.Actors.ConfigHistory;
using Prox.Actors.Persistence;
using Prox.Actors.Webhooks;
using Xunit;

namespace Prox.Tests.ConfigApply;

/// <summary>The one list of start-only settings: what start-up and a reload keep, and which keys they warn about.</summary>
public class StartOnlySettingsTests
{
    private static readonly ProxConfig Base = ProxConfigParser.ParseText(
        """prox { routes.api { backends = [{ url = "http://127.0.0.1:5001" }] } }""", _ => null).Config!;

    private static readonly AdminToken Token = new("ops", [.. new byte[32]], AdminRole.Write);

    /// <summary>Base with every start-only setting and some reloadable ones (routes, tokens, cache) changed.</summary>
    private static readonly ProxConfig Other = Base with
    {
        Listen = [new ListenAddress("127.0.0.1", 18080)],
        Admin = new AdminConfig([new ListenAddress("127.0.0.1", 19901)]) { Chaos = true, Tokens = [Token] },
        Limits = new LimitsConfig(1234),
        Webhooks = [new WebhookConfig("ops", new Uri("http://127.0.0.1:9/hook"), null, null, default,
            WebhookConfig.DefaultTimeout, WebhookConfig.DefaultBackoff, WebhookConfig.DefaultMaxBackoff, WebhookConfig.DefaultMaxPending)],
        Persistence = new PersistenceConfig(PersistenceConfig.Sqlite, "/tmp/elsewhere", null),
        ConfigHistory = new ConfigHistoryConfig(7),
        Shutdown = new ShutdownConfig(TimeSpan.FromSeconds(3)),
        Cluster = ClusterConfig.Default with { Enabled = true, Port = 4053 },
        Routes = [],
        Cache = Base.Cache with { MaxMemoryBytes = 4096 },
    };

    private static readonly string[] EveryKey =
    [
        "prox.listen", "prox.admin.listen", "prox.admin.chaos", "prox.limits", "prox.webhooks", "prox.persistence",
        "prox.config-history", "prox.shutdown", "prox.cluster",
    ];

    [Fact]
    public void RestartNeeded_EverySettingChanged_NamesEveryKeyInOrder()
    {
        Assert.Equal(EveryKey, StartOnlySettings.RestartNeeded(Base, Other, nodeLocal: false));
        Assert.Equal(EveryKey, StartOnlySettings.All.Select(s => s.Key));
    }

    [Fact]
    public void RestartNeeded_NodeLocal_LeavesOutEachNodesOwnKeys()
    {
        Assert.Equal(["prox.admin.chaos", "prox.limits", "prox.webhooks", "prox.config-history", "prox.shutdown"],
            StartOnlySettings.RestartNeeded(Base, Other, nodeLocal: true));
    }

    [Fact]
    public void RestartNeeded_OnlyReloadableSettingsChanged_IsEmpty()
    {
        var next = Base with { Routes = [], Admin = Base.Admin with { Tokens = [Token] }, Cache = Base.Cache with { MaxMemoryBytes = 1 } };

        Assert.Empty(StartOnlySettings.RestartNeeded(Base, next, nodeLocal: false));
        Assert.Empty(StartOnlySettings.FileWinsAtStart(Base, next));
    }

    [Fact]
    public void RestartNeeded_SameValuesInNewInstances_IsEmpty()
    {
        // arrays compare by value: a config parsed again from the same text needs no restart
        var again = ProxConfigParser.ParseText(Base.SourceText!, _ => null).Config!;

        Assert.Empty(StartOnlySettings.RestartNeeded(Base, again, nodeLocal: false));
    }

    [Fact]
    public void FileWinsAtStart_EverySettingChanged_AllButWebhooks()
    {
        // webhooks start from the chosen config, so a resumed version's webhooks are used, not the file's
        Assert.Equal(EveryKey.Where(k => k != "prox.webhooks"), StartOnlySettings.FileWinsAtStart(Base, Other));
    }

    [Fact]
    public void ForStart_ResumedVersion_KeepsWhatTheHostBoundFromTheFile()
    {
        var run = StartOnlySettings.ForStart(Base, Other);

        // what ProxRuntime.Start has always done: listeners, admin (but its tokens), limits, persistence, history, cluster from the file
        Assert.Equal(Other with
        {
            Listen = Base.Listen, Admin = Base.Admin with { Tokens = Other.Admin.Tokens }, Limits = Base.Limits,
            Persistence = Base.Persistence, ConfigHistory = Base.ConfigHistory, Cluster = Base.Cluster,
        }, run);
        Assert.Equal(Other.Webhooks, run.Webhooks);
        Assert.Equal(Other.Shutdown, run.Shutdown);
        Assert.Equal<AdminToken>([Token], run.Admin.Tokens);
    }

    [Fact]
    public void ForReload_NewConfig_KeepsEveryRunningStartOnlyValue_TakesTheRest()
    {
        var run = StartOnlySettings.ForReload(Base, Other);

        // what ProxRuntime.Apply has always done: as at start, and the webhooks too (the Notifier runs on them)
        Assert.Equal(Other with
        {
            Listen = Base.Listen, Admin = Base.Admin with { Tokens = Other.Admin.Tokens }, Limits = Base.Limits,
            Webhooks = Base.Webhooks, Persistence = Base.Persistence, ConfigHistory = Base.ConfigHistory, Cluster = Base.Cluster,
        }, run);
        Assert.Empty(run.Routes);
        Assert.Equal(4096, run.Cache.MaxMemoryBytes);
        // the host reads the drain timeout from the config it was built with; the running config carries the new one
        Assert.Equal(Other.Shutdown, run.Shutdown);
    }

    [Fact]
    public void ForStartAndForReload_SameConfig_ChangeNothing()
    {
        Assert.Equal(Other, StartOnlySettings.ForStart(Other, Other));
        Assert.Equal(Other, StartOnlySettings.ForReload(Other, Other));
    }

    [Fact]
    public void All_EveryKeyOnce_KeepCopiesExactlyThatSetting()
    {
        Assert.Equal(StartOnlySettings.All.Length, StartOnlySettings.All.Select(s => s.Key).Distinct().Count());
        foreach (var s in StartOnlySettings.All)
        {
            var kept = s.Keep(Base, Other);
            Assert.True(s.Same(kept, Other), s.Key);
            // no other start-only setting moves with it
            Assert.Equal([s.Key], StartOnlySettings.RestartNeeded(Base, kept, nodeLocal: false));
        }
    }
}
