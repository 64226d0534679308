using System.Collections.Immutable;
using Akka.Actor;
using Prox.Actors;
using Prox.Actors.Config;
using Prox.Actors.ConfigHistory;
using Prox.Actors.Events;
using Prox.Actors.Hocon;
using Prox.Actors.Routing;
using Prox.Http;
using Prox.Http.Admin;

namespace Prox.Hosting;

/// <summary>
/// The one place configs are applied. Hot reload of the config file: on a change (file watcher, debounced), on SIGHUP,
/// or on request (<c>POST /admin/config/reload</c>), re-reads and validates the whole file. The admin API applies full
/// config texts through <see cref="ApplyTextAsync"/> the same way. An invalid config is rejected with every error
/// logged and a <c>config-rejected</c> event, and the last good config keeps serving; a valid one is applied by the
/// RouteManager, which diffs it against the running one, and then recorded in the ConfigStore as a new version.
/// Applies run one at a time. At start-up <see cref="StartServingAsync"/> chooses between the file and the stored
/// history (<see cref="StartupChoice"/>).
/// In cluster mode the store is shared (a cluster singleton) and a <see cref="ConfigFollower"/> hands this node the
/// versions other nodes record (<see cref="FollowAsync"/>): every node applies versions in number order, skipping any
/// not newer than the one it last applied.
/// </summary>
public sealed class ConfigReloader : IConfigReloader, IDisposable
{
    /// <summary>Quiet time after the last file event before reloading (editors write a file in several steps).</summary>
    public static readonly TimeSpan Debounce = TimeSpan.FromMilliseconds(300);

    /// <summary>How long removed or replaced backends may finish their in-flight requests.</summary>
    public static readonly TimeSpan DrainTimeout = TimeSpan.FromSeconds(30);

    private static readonly TimeSpan ApplyTimeout = TimeSpan.FromSeconds(30);

    /// <summary>How long the config store may take to answer (recording a version, or loading the history at start).</summary>
    public static readonly TimeSpan StoreTimeout = TimeSpan.FromSeconds(15);

    private readonly string? _path;
    private readonly ProxRuntime _runtime;
    private readonly Func<ActorSystem> _system;
    private readonly bool _watch;
    private readonly ILogger _log;
    private readonly SemaphoreSlim _one = new(1, 1);
    private FileSystemWatcher? _watcher;
    private readonly Timer _debounce;
    private IDisposable? _sighup;
    private int _reloads;
    private bool _started;
    private long _lastApplied; // the newest version this node runs; written under _one
    private long _invalidUpTo; // the newest version that did not validate here (not retried, not running); under _one
    private IActorRef? _follower;

    /// <param name="path">The config file; null when Prox was started from text (nothing to reload, the API still applies).</param>
    /// <param name="system">The actor system, resolved when first needed (it starts after the container is built).</param>
    /// <param name="watch">Reload when the file changes (else only on SIGHUP or request).</param>
    public ConfigReloader(string? path, ProxRuntime runtime, Func<ActorSystem> system, ILogger log, bool watch = true)
    {
        _path = path is null ? null : System.IO.Path.GetFullPath(path);
        _runtime = runtime;
        _system = system;
        _log = log;
        _watch = watch;
        _debounce = new Timer(_ => _ = ReloadLoggedAsync("the config file changed"));
    }

    /// <inheritdoc />
    public string? FilePath => _path;

    /// <summary>
    /// Start-up: asks the ConfigStore for its history and starts the routes on the file's config, or on the latest
    /// stored version when the file has not changed since Prox last read it (<see cref="StartupChoice"/>). A file that
    /// wins becomes a new version. Called once, before the host reports ready; no route exists before it.
    /// </summary>
    /// <exception cref="ProxStartupException">The config store did not load its history in time.</exception>
    public async Task<ConfigVersion?> StartServingAsync(CancellationToken ct = default)
    {
        await _one.WaitAsync(ct);
        try
        {
            var started = await ChooseAndStartAsync(ct);
            Volatile.Write(ref _started, true);
            return started;
        }
        finally
        {
            _one.Release();
        }
    }

    /// <inheritdoc />
    public bool IsStarted => Volatile.Read(ref _started);

    /// <inheritdoc />
    public long AppliedVersion => Interlocked.Read(ref _lastApplied);

    /// <summary>Notes the version this node now runs (called under <c>_one</c>; read without it by /status).</summary>
    private void SetApplied(long number) => Interlocked.Exchange(ref _lastApplied, number);

    private async Task<ConfigVersion?> ChooseAndStartAsync(CancellationToken ct)
    {
        var file = _runtime.Config;
        var supervisor = _runtime.Supervisor;
        ConfigStoreState state;
        try
        {
            await ProxPersistence.StartPluginsAsync(_system(), StoreTimeout, ct);
            state = await supervisor.Ask<ConfigStoreState>(GetConfigStoreState.Instance, StoreTimeout, ct);
        }
        catch (AskTimeoutException)
        {
            throw new ProxStartupException(
                $"the config history in {file.Persistence.Where} did not load within {StoreTimeout.TotalSeconds:0} s (see the log above)");
        }

        var chosen = file;
        var resumed = file.SourceText is { } text ? StartupChoice.Resume(state, text) : null;
        if (resumed is not null)
        {
            var parsed = ProxConfigParser.ParseText(resumed.Text);
            if (parsed.IsValid)
            {
                chosen = parsed.Config!;
                _log.LogInformation("Config file unchanged since it was last read: resuming version {Version} ({Source} by {Author}, {At})",
                    resumed.Number, resumed.Source, resumed.Author, resumed.At);
                // webhooks are started from the chosen version; the rest of these are bound from the file already
                foreach (var key in RestartNeeded(file, chosen, nodeLocal: false).Where(k => k != "prox.webhooks"))
                    _log.LogWarning("Version {Version} sets {Key} differently from the file; the file's value is used (it is bound before the history is read)",
                        resumed.Number, key);
            }
            else
            {
                _log.LogWarning("Stored version {Version} no longer validates ({Errors}); starting on the config file",
                    resumed.Number, string.Join("; ", parsed.Errors));
                resumed = null;
            }
        }

        await supervisor.Ask<RoutesStarted>(new StartRoutes(chosen), ApplyTimeout, ct);
        _runtime.Start(chosen);
        if (resumed is not null || file.SourceText is not { } fileText)
        {
            SetApplied(resumed?.Number ?? 0);
            return resumed;
        }

        var reason = state.Latest is null ? "first start" : "read at start-up";
        var recorded = await RecordAsync(new RecordConfigVersion(ConfigSources.File, ConfigSources.File, reason, fileText));
        if (recorded is not null)
        {
            SetApplied(recorded.Version.Number);
            _log.LogInformation("Config file recorded as version {Version} ({Reason})", recorded.Version.Number, reason);
        }
        return recorded?.Version;
    }

    /// <summary>Starts watching the file and listening for SIGHUP, and in cluster mode following the versions other
    /// nodes record; called once the host runs.</summary>
    public void Start()
    {
        if (_runtime.Config.Cluster.Enabled && _follower is null)
            _follower = _system().ActorOf(ConfigFollower.Props(_runtime.Supervisor, FollowAsync), "config-follower");
        if (_path is null) return;
        if (_watch)
        {
            // watch the directory, not the file: editors and `mv` replace the file rather than write into it
            _watcher = new FileSystemWatcher(System.IO.Path.GetDirectoryName(_path)!, System.IO.Path.GetFileName(_path))
            {
                NotifyFilter = NotifyFilters.LastWrite | NotifyFilters.FileName | NotifyFilters.Size | NotifyFilters.CreationTime,
            };
            _watcher.Changed += (_, _) => Touch();
            _watcher.Created += (_, _) => Touch();
            _watcher.Renamed += (_, _) => Touch();
            _watcher.EnableRaisingEvents = true;
        }
        if (!OperatingSystem.IsWindows())
            _sighup = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGHUP, ctx =>
            {
                ctx.Cancel = true; // SIGHUP reloads, as with nginx and HAProxy; it does not stop Prox
                _ = ReloadLoggedAsync("SIGHUP");
            });
    }

    /// <summary>Reloads applied since start.</summary>
    public int Reloads => Volatile.Read(ref _reloads);

    private void Touch() => _debounce.Change(Debounce, Timeout.InfiniteTimeSpan);

    private async Task ReloadLoggedAsync(string reason)
    {
        try
        {
            await ReloadAsync(reason);
        }
        catch (Exception e)
        {
            // a timer or signal callback: nobody else would see it
            _log.LogError(e, "Reload ({Reason}) failed", reason);
        }
    }

    /// <inheritdoc />
    public async Task<ReloadResult> ReloadAsync(string reason, CancellationToken ct = default)
    {
        if (_path is null) return ReloadResult.Rejected([$"{ProxConfigParser.FilePath}: Prox was not started from a config file"]);
        await _one.WaitAsync(ct);
        try
        {
            string text;
            try
            {
                text = await File.ReadAllTextAsync(_path, ct);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                var why = e is FileNotFoundException or DirectoryNotFoundException ? "file not found" : e.Message;
                return Reject([new ConfigError(ProxConfigParser.FilePath, $"cannot read config file '{_path}': {why}")], reason);
            }
            return await ApplyLockedAsync(text, ConfigSources.File, ConfigSources.File, reason, unlessSameAsLatest: true, ct);
        }
        finally
        {
            _one.Release();
        }
    }

    /// <inheritdoc />
    public async Task<ReloadResult> ApplyTextAsync(string text, string source, string author, string comment,
        TimeSpan? drainTimeout = null, CancellationToken ct = default)
    {
        await _one.WaitAsync(ct);
        try
        {
            return await ApplyLockedAsync(text, source, author, comment, unlessSameAsLatest: false, ct, drainTimeout);
        }
        finally
        {
            _one.Release();
        }
    }

    private async Task<ReloadResult> ApplyLockedAsync(string text, string source, string author, string comment,
        bool unlessSameAsLatest, CancellationToken ct, TimeSpan? drainTimeout = null)
    {
        var what = source == ConfigSources.File ? $"{_path} ({comment})" : $"{source} by {author}";
        var parsed = ProxConfigParser.ParseText(text);
        if (!parsed.IsValid) return Reject(parsed.Errors, what);
        ct.ThrowIfCancellationRequested();

        var next = parsed.Config!;
        var running = _runtime.Config;
        var restartNeeded = RestartNeeded(running, next, nodeLocal: false);
        foreach (var key in restartNeeded)
            _log.LogWarning("Config change: {Key} changed; it takes effect only after a restart (the running value stays)", key);

        // from here on the change happens whoever waits for it: a client that goes away must not leave it half done
        var applied = await _runtime.Supervisor.Ask<ConfigApplied>(new ApplyRoutes(next, drainTimeout ?? DrainTimeout), ApplyTimeout, CancellationToken.None);
        _runtime.Apply(next);
        Interlocked.Increment(ref _reloads);
        var changedPaths = running.SourceText is { } before ? ConfigTreeDiff.ChangedPaths(before, text) ?? [] : [];
        var recorded = await RecordAsync(new RecordConfigVersion(source, author, comment, text, unlessSameAsLatest));
        // the store's answer is this node's version, also when it recorded nothing (the text was already the latest)
        if (recorded is not null) SetApplied(Math.Max(_lastApplied, recorded.Version.Number));

        var summary = $"routes: {applied.Added.Length} added, {applied.Removed.Length} removed, {applied.Changed.Length} changed";
        var backends = applied.Routes.Where(r => r.Added + r.Removed + r.Replaced + r.Reweighted > 0)
            .Select(r => $"{r.RouteId}: backends {r.Added} added, {r.Removed} removed, {r.Replaced} replaced, {r.Reweighted} reweighted");
        var version = recorded is { Recorded: true } ? $"version {recorded.Version.Number}, " : "";
        var detail = string.Join("; ", new[] { $"{summary} ({version}{what})" }.Concat(backends));
        _log.LogInformation("Config applied: {Detail}", detail);
        Publish(ProxEventKinds.ConfigApplied, detail);
        return ReloadResult.Success(applied, restartNeeded) with
        {
            Version = recorded?.Version,
            Recorded = recorded?.Recorded ?? false,
            ChangedPaths = [.. changedPaths],
        };
    }

    private ReloadResult Reject(ImmutableArray<ConfigError> configErrors, string what)
    {
        _log.LogWarning("Config from {What} rejected: {Count} errors; the running config stays", what, configErrors.Length);
        foreach (var e in configErrors) _log.LogWarning("  {ConfigPath}: {Message}", e.Path, e.Message);
        var errors = configErrors.Select(e => e.ToString()).ToArray();
        Publish(ProxEventKinds.ConfigRejected, $"{errors.Length} errors ({what}): {string.Join("; ", errors.Take(5))}{(errors.Length > 5 ? "; …" : "")}");
        return ReloadResult.Rejected(errors);
    }

    /// <summary>
    /// Cluster mode: applies <paramref name="version"/>, recorded in the shared store by another node (or found by
    /// asking the store), unless this node already runs it or a newer one. It is applied like a reload (routes and
    /// runtime) but not recorded again and with no <c>config-applied</c> event: the node that made the change did
    /// both, so webhooks fire once. The text is parsed here, so its <c>${?ENV}</c> substitutions take this node's values.
    /// </summary>
    /// <param name="origin">The node that applied it first; null when it came from asking the store.</param>
    internal async Task FollowAsync(ConfigVersion version, string? origin)
    {
        await _one.WaitAsync();
        try
        {
            if (!IsStarted || version.Number <= Math.Max(_lastApplied, _invalidUpTo)) return;
            var from = origin ?? "the shared config store";
            if (_runtime.Config.SourceText == version.Text)
            {
                SetApplied(version.Number);
                _log.LogDebug("Config version {Version} from {Origin} is the config this node runs", version.Number, from);
                return;
            }
            var parsed = ProxConfigParser.ParseText(version.Text);
            if (!parsed.IsValid)
            {
                // not retried (the text will not change, so it would fail again); the next valid version replaces it
                _invalidUpTo = version.Number;
                _log.LogWarning("Config version {Version} from {Origin} does not validate on this node; the running config stays: {Errors}",
                    version.Number, from, string.Join("; ", parsed.Errors));
                return;
            }
            var next = parsed.Config!;
            foreach (var key in RestartNeeded(_runtime.Config, next, nodeLocal: true))
                _log.LogWarning("Config version {Version}: {Key} changed; it takes effect only after a restart (the running value stays)",
                    version.Number, key);
            await _runtime.Supervisor.Ask<ConfigApplied>(new ApplyRoutes(next, DrainTimeout), ApplyTimeout, CancellationToken.None);
            _runtime.Apply(next);
            Interlocked.Increment(ref _reloads);
            SetApplied(version.Number);
            _log.LogInformation("Applied config version {Version} from {Origin}", version.Number, from);
        }
        finally
        {
            _one.Release();
        }
    }

    /// <summary>Records an applied config; null (logged) when the store does not answer: the config runs, unrecorded.</summary>
    private async Task<ConfigVersionRecorded?> RecordAsync(RecordConfigVersion record)
    {
        if (_runtime.Config.Cluster.Enabled)
            record = record with { Origin = Akka.Cluster.Cluster.Get(_system()).SelfAddress.ToString() };
        try
        {
            return await _runtime.Supervisor.Ask<ConfigVersionRecorded>(record, StoreTimeout, CancellationToken.None);
        }
        catch (AskTimeoutException)
        {
            _log.LogError("The config store did not answer within {Timeout}: the applied config ({Source}, {Comment}) is running but not recorded as a version",
                StoreTimeout, record.Source, record.Comment);
            return null;
        }
    }

    /// <summary>Settings bound when the process starts (sockets, server limits): a reload cannot change them.</summary>
    /// <param name="nodeLocal">Leave out the keys that are each node's own in a cluster (listeners, cluster,
    /// persistence): a version from another node names that node's values, which this node must not warn about.</param>
    private static string[] RestartNeeded(ProxConfig running, ProxConfig next, bool nodeLocal)
    {
        var keys = new List<string>();
        if (!nodeLocal && !running.Listen.SequenceEqual(next.Listen)) keys.Add("prox.listen");
        if (!nodeLocal && !running.Admin.Listen.SequenceEqual(next.Admin.Listen)) keys.Add("prox.admin.listen");
        if (running.Admin.Chaos != next.Admin.Chaos) keys.Add("prox.admin.chaos");
        if (running.Limits != next.Limits) keys.Add("prox.limits");
        if (!ConfigComparer.Same(running.Webhooks.ToArray(), next.Webhooks.ToArray())) keys.Add("prox.webhooks");
        if (!nodeLocal && !ConfigComparer.Same(running.Persistence, next.Persistence)) keys.Add("prox.persistence");
        if (running.ConfigHistory != next.ConfigHistory) keys.Add("prox.config-history");
        if (running.Shutdown != next.Shutdown) keys.Add("prox.shutdown");
        if (!nodeLocal && !ConfigComparer.Same(running.Cluster, next.Cluster)) keys.Add("prox.cluster");
        return [.. keys];
    }

    private void Publish(string kind, string detail) =>
        _system().EventStream.Publish(ProxEvent.Create(DateTimeOffset.UtcNow, kind, null, null, detail));

    public void Dispose()
    {
        _watcher?.Dispose();
        _debounce.Dispose();
        _sighup?.Dispose();
        _one.Dispose();
    }
}
