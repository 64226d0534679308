using Akka.Actor;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using Prox.Actors;
using Prox.Actors.Config;
using Prox.Actors.ConfigApply;
using Prox.Actors.ConfigHistory;
using Prox.Actors.Events;
using Prox.Actors.Routing;
using Xunit;

namespace Prox.Tests.ConfigApply;

/// <summary>The ConfigApplier runs one apply at a time: the supervisor (routes and store) is a probe that answers
/// each step, so the tests see exactly when each apply asks for what. Virtual time drives the file debounce.</summary>
public class ConfigApplierTests : TestKit
{
    private const string Backend = """backends = [{ url = "http://127.0.0.1:5001" }]""";

    private readonly TestProbe _supervisor;
    private readonly FakeRuntime _runtime = new(Parse(Text(1)));
    private readonly ConfigApplierStatus _status = new();

    public ConfigApplierTests() : base("akka.scheduler.implementation = \"Akka.TestKit.TestScheduler, Akka.TestKit\"") =>
        _supervisor = CreateTestProbe("supervisor");

    private static string Text(int seconds, string extra = "") =>
        $"prox {{\n routes.api {{\n  timeouts.request = {seconds}s\n  {extra}\n  {Backend}\n }}\n}}\n";

    private static ProxConfig Parse(string text) => ProxConfigParser.ParseText(text, _ => null).Config!;

    private static ConfigApplied Changed(string route) => new([], [], [route], []);

    private static ConfigVersionRecorded Recorded(long n, string text, string source = ConfigSources.Api) =>
        new(new ConfigVersion(n, DateTimeOffset.UnixEpoch, source, "ops", "", text), Recorded: true);

    /// <summary>The runtime's part, as <c>ProxRuntime</c> does it.</summary>
    private sealed class FakeRuntime(ProxConfig config) : IRunningConfig
    {
        private volatile ProxConfig _config = config;

        public ProxConfig Config => _config;

        public void Start(ProxConfig chosen) => _config = StartOnlySettings.ForStart(_config, chosen);

        public void Apply(ProxConfig next) => _config = StartOnlySettings.ForReload(_config, next);
    }

    private IActorRef Applier(string? path = null) =>
        Sys.ActorOf(ConfigApplier.Props(_supervisor, _runtime, path, _status));

    /// <summary>Start-up on the file (an empty store): routes start, the file becomes version 1.</summary>
    private IActorRef Started(string? path = null)
    {
        var applier = Applier(path);
        applier.Tell(new StartServing(new ConfigStoreState(null, null)));
        _supervisor.ExpectMsg<StartRoutes>();
        _supervisor.Reply(RoutesStarted.Instance);
        var record = _supervisor.ExpectMsg<RecordConfigVersion>();
        Assert.Equal(("first start", ConfigSources.File), (record.Comment, record.Source));
        _supervisor.Reply(Recorded(1, record.Text, ConfigSources.File));
        Assert.Equal(1, ExpectMsg<ServingStarted>().Version!.Number);
        Assert.True(_status.IsStarted);
        return applier;
    }

    /// <summary>Answers one apply's two steps: the routes applied it, the store recorded it as <paramref name="version"/>.</summary>
    private ApplyRoutes AnswerApply(long version)
    {
        var apply = _supervisor.ExpectMsg<ApplyRoutes>();
        _supervisor.Reply(Changed("api"));
        var record = _supervisor.ExpectMsg<RecordConfigVersion>();
        Assert.Equal(apply.Config.SourceText, record.Text);
        _supervisor.Reply(Recorded(version, record.Text, record.Source));
        return apply;
    }

    [Fact]
    public void Apply_TwoSentAtOnce_RunOneAfterTheOther_SecondSeesTheFirst()
    {
        var applier = Started();
        var (one, two) = (CreateTestProbe(), CreateTestProbe());
        var second = Text(2, "backend-header = true");
        applier.Tell(new ApplyConfigText(Text(2), ConfigSources.Api, "one", "first"), one);
        applier.Tell(new ApplyConfigText(second, ConfigSources.Api, "two", "second"), two);

        var first = _supervisor.ExpectMsg<ApplyRoutes>();
        var routes = _supervisor.LastSender;
        Assert.Equal(TimeSpan.FromSeconds(2), first.Config.Routes[0].Timeouts.Request);
        _supervisor.ExpectNoMsg(TimeSpan.FromMilliseconds(200)); // the second waits while the first's routes apply
        routes.Tell(Changed("api"));
        _supervisor.ExpectMsg<RecordConfigVersion>();
        var store = _supervisor.LastSender;
        _supervisor.ExpectNoMsg(TimeSpan.FromMilliseconds(100)); // ... and while it is recorded
        store.Tell(Recorded(2, Text(2)));
        Assert.Equal(2, one.ExpectMsg<ConfigTextApplied>().Recorded!.Version.Number);

        AnswerApply(3);
        var applied = two.ExpectMsg<ConfigTextApplied>();
        // diffed against the first's config, which ran when the second began: only its own change
        Assert.Equal<string>(["prox.routes.api.backend-header"], applied.ChangedPaths);
        Assert.Equal(3, applied.Recorded!.Version.Number);
        Assert.Equal(second, _runtime.Config.SourceText);
        Assert.Equal((3L, 2), (_status.AppliedVersion, _status.Reloads));
    }

    [Fact]
    public void Apply_RoutesFail_CallerGetsTheFailure_NextApplyRuns()
    {
        var applier = Started();
        var (one, two) = (CreateTestProbe(), CreateTestProbe());
        applier.Tell(new ApplyConfigText(Text(2), ConfigSources.Api, "one", ""), one);
        applier.Tell(new ApplyConfigText(Text(3), ConfigSources.Api, "two", ""), two);

        _supervisor.ExpectMsg<ApplyRoutes>();
        _supervisor.Reply(new Status.Failure(new TimeoutException("routes did not answer")));
        Assert.IsType<TimeoutException>(one.ExpectMsg<Status.Failure>().Cause);

        Assert.Equal(TimeSpan.FromSeconds(3), AnswerApply(2).Config.Routes[0].Timeouts.Request);
        two.ExpectMsg<ConfigTextApplied>();
        Assert.Equal(Text(3), _runtime.Config.SourceText);
        Assert.Equal(1, _status.Reloads);
    }

    [Fact]
    public void Apply_InvalidConfig_RejectedWithPaths_RunningConfigStays_RoutesNotAsked()
    {
        var applier = Started();
        var events = CreateTestProbe();
        Sys.EventStream.Subscribe(events, typeof(ProxEvent));

        applier.Tell(new ApplyConfigText("prox { routes.api { load-balancng = x, " + Backend + " } }", ConfigSources.Api, "ops", ""));

        var rejected = ExpectMsg<ConfigTextRejected>();
        Assert.Contains(rejected.Errors, e => e.StartsWith("prox.routes.api.load-balancng", StringComparison.Ordinal));
        Assert.Equal(ProxEventKinds.ConfigRejected, events.ExpectMsg<ProxEvent>().Kind);
        _supervisor.ExpectNoMsg(TimeSpan.FromMilliseconds(100));
        Assert.Equal(Text(1), _runtime.Config.SourceText);

        applier.Tell(new ApplyConfigText(Text(2), ConfigSources.Api, "ops", "")); // the next one applies
        AnswerApply(2);
        ExpectMsg<ConfigTextApplied>();
        Assert.Equal(ProxEventKinds.ConfigApplied, events.ExpectMsg<ProxEvent>().Kind);
    }

    [Fact]
    public void Apply_CallerGaveUpBeforeItsTurn_NotApplied()
    {
        var applier = Started();
        using var gone = new CancellationTokenSource();
        applier.Tell(new ApplyConfigText(Text(2), ConfigSources.Api, "one", ""));
        applier.Tell(new ApplyConfigText(Text(3), ConfigSources.Api, "two", "", Abandoned: gone.Token));
        _supervisor.ExpectMsg<ApplyRoutes>();
        gone.Cancel();
        _supervisor.Reply(Changed("api"));
        _supervisor.ExpectMsg<RecordConfigVersion>();
        _supervisor.Reply(Recorded(2, Text(2)));

        ExpectMsg<ConfigTextApplied>();
        Assert.IsType<OperationCanceledException>(ExpectMsg<Status.Failure>().Cause);
        _supervisor.ExpectNoMsg(TimeSpan.FromMilliseconds(100));
        Assert.Equal(Text(2), _runtime.Config.SourceText);
    }

    [Fact]
    public void Apply_BeforeStartUp_WaitsUntilTheRoutesStarted()
    {
        var applier = Applier();
        applier.Tell(new ApplyConfigText(Text(2), ConfigSources.Api, "ops", ""));
        _supervisor.ExpectNoMsg(TimeSpan.FromMilliseconds(200));

        applier.Tell(new StartServing(new ConfigStoreState(null, null)));
        _supervisor.ExpectMsg<StartRoutes>();
        _supervisor.Reply(RoutesStarted.Instance);
        _supervisor.ExpectMsg<RecordConfigVersion>();
        _supervisor.Reply(Recorded(1, Text(1), ConfigSources.File));
        ExpectMsg<ServingStarted>();

        AnswerApply(2);
        ExpectMsg<ConfigTextApplied>();
    }

    [Fact]
    public void StartServing_FileUnchanged_ResumesTheLatestVersion_RecordsNothing()
    {
        var applier = Applier();
        var latest = Recorded(4, Text(9)).Version;

        applier.Tell(new StartServing(new ConfigStoreState(latest, Text(1))));

        Assert.Equal(TimeSpan.FromSeconds(9), _supervisor.ExpectMsg<StartRoutes>().Config.Routes[0].Timeouts.Request);
        _supervisor.Reply(RoutesStarted.Instance);
        Assert.Equal(4, ExpectMsg<ServingStarted>().Version!.Number);
        _supervisor.ExpectNoMsg(TimeSpan.FromMilliseconds(100));
        Assert.Equal((4L, Text(9)), (_status.AppliedVersion, _runtime.Config.SourceText));
    }

    [Fact]
    public void FileChanged_SeveralEvents_OneReloadAfterTheQuietTime()
    {
        var path = Path.Combine(Path.GetTempPath(), $"prox-applier-{Guid.NewGuid():N}.conf");
        File.WriteAllText(path, Text(5));
        try
        {
            var applier = Started(path);
            var scheduler = (TestScheduler)Sys.Scheduler;
            for (var i = 0; i < 3; i++)
            {
                applier.Tell(ConfigFileChanged.Instance);
                applier.Tell(new Identify(null)); // answered once the event before it has (re)started the timer
                ExpectMsg<ActorIdentity>();
                scheduler.Advance(ConfigApplier.Debounce - TimeSpan.FromMilliseconds(50)); // an editor still writing
            }
            _supervisor.ExpectNoMsg(TimeSpan.FromMilliseconds(200));

            scheduler.Advance(TimeSpan.FromMilliseconds(50));
            var apply = _supervisor.ExpectMsg<ApplyRoutes>();
            Assert.Equal(TimeSpan.FromSeconds(5), apply.Config.Routes[0].Timeouts.Request);
            _supervisor.Reply(Changed("api"));
            var record = _supervisor.ExpectMsg<RecordConfigVersion>();
            Assert.Equal((ConfigSources.File, "the config file changed", true), (record.Source, record.Comment, record.UnlessSameAsLatest));
            _supervisor.Reply(Recorded(2, record.Text, ConfigSources.File));
            _supervisor.ExpectNoMsg(TimeSpan.FromMilliseconds(200)); // one reload, nobody to answer
            Assert.Equal((2L, 1), (_status.AppliedVersion, _status.Reloads));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Reload_FileMissing_RejectedWithItsPath()
    {
        var path = Path.Combine(Path.GetTempPath(), $"prox-applier-{Guid.NewGuid():N}.conf");
        var applier = Started(path);

        applier.Tell(new ReloadConfigFile("test"));

        var rejected = ExpectMsg<ConfigTextRejected>();
        Assert.Equal<string>([$"(file): cannot read config file '{path}': file not found"], rejected.Errors);
        _supervisor.ExpectNoMsg(TimeSpan.FromMilliseconds(100));
    }

    [Fact]
    public void Follow_NewerVersionApplied_NotRecorded_OlderAndInvalidSkipped()
    {
        var applier = Started();

        applier.Tell(new FollowConfigVersion(Recorded(1, Text(7)).Version, "node-b")); // not newer than what runs
        ExpectMsg<VersionFollowed>();
        applier.Tell(new FollowConfigVersion(Recorded(3, "prox { nope = 1 }").Version, "node-b"));
        ExpectMsg<VersionFollowed>();
        _supervisor.ExpectNoMsg(TimeSpan.FromMilliseconds(100));

        applier.Tell(new FollowConfigVersion(Recorded(2, Text(7)).Version, "node-b")); // older than the invalid one
        ExpectMsg<VersionFollowed>();
        applier.Tell(new FollowConfigVersion(Recorded(4, Text(8)).Version, null));
        _supervisor.ExpectMsg<ApplyRoutes>();
        _supervisor.Reply(Changed("api"));
        ExpectMsg<VersionFollowed>();
        _supervisor.ExpectNoMsg(TimeSpan.FromMilliseconds(100)); // another node recorded it
        Assert.Equal((4L, Text(8)), (_status.AppliedVersion, _runtime.Config.SourceText));
    }
}
