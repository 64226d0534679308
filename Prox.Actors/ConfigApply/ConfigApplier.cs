using System.Collections.Immutable;
using Akka.Actor;
using Akka.Event;
using Prox.Actors.Config;
using Prox.Actors.ConfigHistory;
using Prox.Actors.Events;
using Prox.Actors.Hocon;
using Prox.Actors.Routing;

namespace Prox.Actors.ConfigApply;

/// <summary>
/// The one place configs are applied, one at a time: start-up (<see cref="StartServing"/>), reloads of the config
/// file (file watcher, SIGHUP, <c>POST /admin/config/reload</c>), texts from the admin API (<c>PUT /admin/config</c>,
/// rollbacks, dynamic backends) and, in cluster mode, versions other nodes recorded. An invalid config is rejected
/// with every error logged and a <c>config-rejected</c> event, and the last good config keeps serving; a valid one is
/// applied by the RouteManager (which diffs it against the running one), then by the runtime, then recorded in the
/// ConfigStore as a new version.
/// <para>Serialised by the mailbox: while an apply runs (its routes or the store are asked, the file is read) the
/// actor is busy and stashes every other apply; each async step comes back as a message, so no two applies ever
/// interleave and a failed one leaves the actor idle again. Until start-up has chosen the config, applies wait.</para>
/// </summary>
public sealed class ConfigApplier : ReceiveActor, IWithUnboundedStash, IWithTimers
{
    /// <summary>Quiet time after the last file event before reloading (editors write a file in several steps).</summary>
    public static readonly TimeSpan Debounce = TimeSpan.FromMilliseconds(300);

    /// <summary>How long removed or replaced backends may finish their in-flight requests.</summary>
    public static readonly TimeSpan DrainTimeout = TimeSpan.FromSeconds(30);

    /// <summary>How long the routes may take to start or apply a config.</summary>
    public static readonly TimeSpan ApplyTimeout = TimeSpan.FromSeconds(30);

    /// <summary>How long the config store may take to answer (recording a version, or loading the history at start).</summary>
    public static readonly TimeSpan StoreTimeout = TimeSpan.FromSeconds(15);

    /// <summary>An async step of the running apply finished: its continuation runs here, on the actor's thread.</summary>
    private sealed record Resume(Action Continue);

    private sealed record StepFailed(Exception Cause);

    /// <summary>An apply of a text on its way: what the steps after the routes need.</summary>
    private sealed record Pending(string Text, string Source, string Author, string Comment, bool UnlessSameAsLatest, string What);

    private readonly IActorRef _supervisor;
    private readonly IRunningConfig _running;
    private readonly string? _path;
    private readonly ConfigApplierStatus _status;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private IActorRef _replyTo = ActorRefs.Nobody; // who waits for the apply running now (Nobody: a signal or the watcher)
    private string _job = ""; // the running apply, for the log when it fails and nobody waits
    private long _invalidUpTo; // the newest followed version that did not validate here (not retried, not running)

    /// <param name="supervisor">The ProxSupervisor: starts and applies routes, forwards to the ConfigStore.</param>
    /// <param name="running">The runtime config the HTTP side reads.</param>
    /// <param name="path">The config file; null when Prox was started from text (nothing to reload).</param>
    /// <param name="status">Where the applier notes what it did, for readers that must not ask.</param>
    public ConfigApplier(IActorRef supervisor, IRunningConfig running, string? path, ConfigApplierStatus status)
    {
        _supervisor = supervisor;
        _running = running;
        _path = path;
        _status = status;
        WaitingForStart();
    }

    public IStash Stash { get; set; } = null!;

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(IActorRef supervisor, IRunningConfig running, string? path, ConfigApplierStatus status) =>
        Akka.Actor.Props.Create(() => new ConfigApplier(supervisor, running, path, status));

    // ---- states ----

    private void WaitingForStart()
    {
        Receive<StartServing>(OnStartServing);
        Receive<ConfigFileChanged>(OnFileChanged);
        ReceiveAny(_ => Stash.Stash());
    }

    private void Idle()
    {
        Receive<ReloadConfigFile>(OnReload);
        Receive<ApplyConfigText>(OnApplyText);
        Receive<FollowConfigVersion>(OnFollow);
        Receive<ConfigFileChanged>(OnFileChanged);
        Receive<StartServing>(_ => Sender.Tell(new Status.Failure(new InvalidOperationException("Prox is already serving"))));
    }

    private void Busy()
    {
        Receive<Resume>(r => Step(r.Continue));
        Receive<StepFailed>(f => Fail(f.Cause));
        Receive<ConfigFileChanged>(OnFileChanged);
        ReceiveAny(_ => Stash.Stash());
    }

    // ---- handlers ----

    private void OnFileChanged(ConfigFileChanged _) =>
        // a new event restarts the timer: the reload waits until the file has been quiet for Debounce
        Timers.StartSingleTimer("debounce", new ReloadConfigFile("the config file changed"), Debounce);

    private void OnStartServing(StartServing msg)
    {
        Begin("start-up");
        Step(() => ChooseAndStart(msg.State));
    }

    private void OnReload(ReloadConfigFile msg)
    {
        Begin(msg.Reason);
        if (_path is null)
        {
            Finish(new ConfigTextRejected([$"{ProxConfigParser.FilePath}: Prox was not started from a config file"]));
            return;
        }
        var path = _path;
        Step(() =>
        {
            msg.Abandoned.ThrowIfCancellationRequested();
            Await(File.ReadAllTextAsync(path, msg.Abandoned),
                text => Apply(text, new Pending(text, ConfigSources.File, ConfigSources.File, msg.Reason, true, $"{path} ({msg.Reason})"),
                    msg.Abandoned, null),
                e => Unreadable(e, path, msg.Reason));
        });
    }

    private void OnApplyText(ApplyConfigText msg)
    {
        Begin($"{msg.Source} by {msg.Author}");
        Step(() =>
        {
            msg.Abandoned.ThrowIfCancellationRequested();
            var what = msg.Source == ConfigSources.File ? $"{_path} ({msg.Comment})" : $"{msg.Source} by {msg.Author}";
            Apply(msg.Text, new Pending(msg.Text, msg.Source, msg.Author, msg.Comment, false, what), msg.Abandoned, msg.DrainTimeout);
        });
    }

    private void OnFollow(FollowConfigVersion msg)
    {
        Begin($"config version {msg.Version.Number}");
        Step(() => Follow(msg.Version, msg.Origin));
    }

    // ---- start-up ----

    private void ChooseAndStart(ConfigStoreState state)
    {
        var file = _running.Config;
        var chosen = file;
        var resumed = file.SourceText is { } text ? StartupChoice.Resume(state, text) : null;
        if (resumed is not null)
        {
            var parsed = ProxConfigParser.ParseText(resumed.Text);
            if (parsed.IsValid)
            {
                chosen = parsed.Config!;
                _log.Info("Config file unchanged since it was last read: resuming version {Version} ({Source} by {Author}, {At})",
                    resumed.Number, resumed.Source, resumed.Author, resumed.At);
                foreach (var key in StartOnlySettings.FileWinsAtStart(file, chosen))
                    _log.Warning("Version {Version} sets {Key} differently from the file; the file's value is used (it is bound before the history is read)",
                        resumed.Number, key);
            }
            else
            {
                _log.Warning("Stored version {Version} no longer validates ({Errors}); starting on the config file",
                    resumed.Number, string.Join("; ", parsed.Errors));
                resumed = null;
            }
        }
        Await(_supervisor.Ask<RoutesStarted>(new StartRoutes(chosen), ApplyTimeout),
            _ => OnRoutesStarted(state, file, chosen, resumed));
    }

    private void OnRoutesStarted(ConfigStoreState state, ProxConfig file, ProxConfig chosen, ConfigVersion? resumed)
    {
        _running.Start(chosen);
        if (resumed is not null || file.SourceText is not { } fileText)
        {
            _status.SetApplied(resumed?.Number ?? 0);
            Started(resumed);
            return;
        }
        var reason = state.Latest is null ? "first start" : "read at start-up";
        Record(new RecordConfigVersion(ConfigSources.File, ConfigSources.File, reason, fileText), recorded =>
        {
            if (recorded is not null)
            {
                _status.SetApplied(recorded.Version.Number);
                _log.Info("Config file recorded as version {Version} ({Reason})", recorded.Version.Number, reason);
            }
            Started(recorded?.Version);
        });
    }

    private void Started(ConfigVersion? version)
    {
        _status.MarkStarted();
        Finish(new ServingStarted(version));
    }

    // ---- applying a text ----

    private void Unreadable(Exception e, string path, string reason)
    {
        if (e is not (IOException or UnauthorizedAccessException))
        {
            Fail(e);
            return;
        }
        var why = e is FileNotFoundException or DirectoryNotFoundException ? "file not found" : e.Message;
        Reject([new ConfigError(ProxConfigParser.FilePath, $"cannot read config file '{path}': {why}")], reason);
    }

    private void Apply(string text, Pending job, CancellationToken abandoned, TimeSpan? drainTimeout)
    {
        var parsed = ProxConfigParser.ParseText(text);
        if (!parsed.IsValid)
        {
            Reject(parsed.Errors, job.What);
            return;
        }
        abandoned.ThrowIfCancellationRequested();

        var next = parsed.Config!;
        if (_running.CheckFiles(next) is { Count: > 0 } fileErrors)
        {
            Reject([.. fileErrors], job.What);
            return;
        }
        var running = _running.Config;
        var restartNeeded = StartOnlySettings.RestartNeeded(running, next, nodeLocal: false);
        foreach (var key in restartNeeded)
            _log.Warning("Config change: {Key} changed; it takes effect only after a restart (the running value stays)", key);

        // from here on the change happens whoever waits for it: a caller that goes away must not leave it half done
        Await(_supervisor.Ask<ConfigApplied>(new ApplyRoutes(next, drainTimeout ?? DrainTimeout), ApplyTimeout),
            applied => OnRoutesApplied(job, running, next, applied, restartNeeded));
    }

    private void OnRoutesApplied(Pending job, ProxConfig running, ProxConfig next, ConfigApplied applied, string[] restartNeeded)
    {
        _running.Apply(next);
        _status.CountReload();
        var changedPaths = running.SourceText is { } before ? ConfigTreeDiff.ChangedPaths(before, job.Text) ?? [] : [];
        Record(new RecordConfigVersion(job.Source, job.Author, job.Comment, job.Text, job.UnlessSameAsLatest), recorded =>
        {
            // the store's answer is this node's version, also when it recorded nothing (the text was already the latest)
            if (recorded is not null) _status.SetApplied(Math.Max(_status.AppliedVersion, recorded.Version.Number));
            var detail = AppliedDetail(applied, recorded, job.What);
            _log.Info("Config applied: {Detail}", detail);
            Publish(ProxEventKinds.ConfigApplied, detail);
            Finish(new ConfigTextApplied(applied, [.. restartNeeded], recorded, [.. changedPaths]));
        });
    }

    /// <summary>The detail of a <c>config-applied</c> event: what changed, which version it became, where it came from.</summary>
    private static string AppliedDetail(ConfigApplied applied, ConfigVersionRecorded? recorded, string what)
    {
        var summary = $"routes: {applied.Added.Length} added, {applied.Removed.Length} removed, {applied.Changed.Length} changed";
        var backends = applied.Routes.Where(r => r.Added + r.Removed + r.Replaced + r.Reweighted > 0)
            .Select(r => $"{r.RouteId}: backends {r.Added} added, {r.Removed} removed, {r.Replaced} replaced, {r.Reweighted} reweighted");
        var version = recorded is { Recorded: true } ? $"version {recorded.Version.Number}, " : "";
        return string.Join("; ", new[] { $"{summary} ({version}{what})" }.Concat(backends));
    }

    private void Reject(ImmutableArray<ConfigError> configErrors, string what)
    {
        _log.Warning("Config from {What} rejected: {Count} errors; the running config stays", what, configErrors.Length);
        foreach (var e in configErrors) _log.Warning("  {ConfigPath}: {Message}", e.Path, e.Message);
        var errors = configErrors.Select(e => e.ToString()).ToArray();
        Publish(ProxEventKinds.ConfigRejected, $"{errors.Length} errors ({what}): {string.Join("; ", errors.Take(5))}{(errors.Length > 5 ? "; …" : "")}");
        Finish(new ConfigTextRejected([.. errors]));
    }

    // ---- following the shared store (cluster mode) ----

    /// <summary>
    /// Applies a version another node recorded unless this node runs it or a newer one, like a reload (routes and
    /// runtime) but not recorded again and with no <c>config-applied</c> event: the node that made the change did
    /// both, so webhooks fire once. The text is parsed here, so its <c>${?ENV}</c> substitutions take this node's values.
    /// </summary>
    private void Follow(ConfigVersion version, string? origin)
    {
        if (version.Number <= Math.Max(_status.AppliedVersion, _invalidUpTo))
        {
            Finish(VersionFollowed.Instance);
            return;
        }
        var from = origin ?? "the shared config store";
        if (_running.Config.SourceText == version.Text)
        {
            _status.SetApplied(version.Number);
            _log.Debug("Config version {Version} from {Origin} is the config this node runs", version.Number, from);
            Finish(VersionFollowed.Instance);
            return;
        }
        var parsed = ProxConfigParser.ParseText(version.Text);
        if (!parsed.IsValid)
        {
            // not retried (the text will not change, so it would fail again); the next valid version replaces it
            _invalidUpTo = version.Number;
            _log.Warning("Config version {Version} from {Origin} does not validate on this node; the running config stays: {Errors}",
                version.Number, from, string.Join("; ", parsed.Errors));
            Finish(VersionFollowed.Instance);
            return;
        }
        var next = parsed.Config!;
        foreach (var key in StartOnlySettings.RestartNeeded(_running.Config, next, nodeLocal: true))
            _log.Warning("Config version {Version}: {Key} changed; it takes effect only after a restart (the running value stays)",
                version.Number, key);
        Await(_supervisor.Ask<ConfigApplied>(new ApplyRoutes(next, DrainTimeout), ApplyTimeout), _ =>
        {
            _running.Apply(next);
            _status.CountReload();
            _status.SetApplied(version.Number);
            _log.Info("Applied config version {Version} from {Origin}", version.Number, from);
            Finish(VersionFollowed.Instance);
        });
    }

    // ---- the running apply ----

    /// <summary>Records an applied config; hands on null (logged) when the store does not answer: the config runs, unrecorded.</summary>
    private void Record(RecordConfigVersion record, Action<ConfigVersionRecorded?> then)
    {
        if (_running.Config.Cluster.Enabled)
            record = record with { Origin = Akka.Cluster.Cluster.Get(Context.System).SelfAddress.ToString() };
        Await(_supervisor.Ask<ConfigVersionRecorded>(record, StoreTimeout), recorded => then(recorded), e =>
        {
            if (e is not AskTimeoutException)
            {
                Fail(e);
                return;
            }
            _log.Error("The config store did not answer within {Timeout}: the applied config ({Source}, {Comment}) is running but not recorded as a version",
                StoreTimeout, record.Source, record.Comment);
            then(null);
        });
    }

    private void Begin(string job)
    {
        // a timer's message (the debounced reload) comes from the actor itself: nobody waits for it
        _replyTo = Sender.IsNobody() || Sender.Equals(Self) ? ActorRefs.Nobody : Sender;
        _job = job;
        Become(Busy);
    }

    /// <summary>Runs one step of the running apply; an exception in it fails that apply, never the applier.</summary>
    private void Step(Action step)
    {
        try
        {
            step();
        }
        catch (Exception e)
        {
            // the boundary of one apply: reported to whoever waits (or logged), and the next apply runs
            Fail(e);
        }
    }

    /// <summary>Waits for <paramref name="task"/> without blocking the mailbox: its result comes back as a message.</summary>
    private void Await<T>(Task<T> task, Action<T> then, Action<Exception>? orElse = null) =>
        task.PipeTo(Self, success: r => new Resume(() => then(r)),
            failure: e => orElse is null ? new StepFailed(e) : new Resume(() => orElse(e)));

    private void Finish(object reply)
    {
        if (!_replyTo.IsNobody()) _replyTo.Tell(reply);
        Done();
    }

    private void Fail(Exception e)
    {
        if (_replyTo.IsNobody()) _log.Error(e, "Reload ({Reason}) failed", _job);
        else _replyTo.Tell(new Status.Failure(e));
        Done();
    }

    private void Done()
    {
        _replyTo = ActorRefs.Nobody;
        if (_status.IsStarted) Become(Idle);
        else Become(WaitingForStart);
        Stash.UnstashAll();
    }

    private void Publish(string kind, string detail) =>
        Context.System.EventStream.Publish(ProxEvent.Create(Context.System.Scheduler.Now, kind, null, null, detail));
}
