using System.Collections.Immutable;
using Akka.Actor;
using Prox.Actors;
using Prox.Actors.Config;
using Prox.Actors.ConfigHistory;
using Prox.Actors.Events;
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
                foreach (var key in RestartNeeded(file, chosen).Where(k => k != "prox.webhooks"))
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
        if (resumed is not null || file.SourceText is not { } fileText) return resumed;

        var reason = state.Latest is null ? "first start" : "read at start-up";
        var recorded = await RecordAsync(new RecordConfigVersion(ConfigSources.File, ConfigSources.File, reason, fileText));
        if (recorded is not null)
            _log.LogInformation("Config file recorded as version {Version} ({Reason})", recorded.Version.Number, reason);
        return recorded?.Version;
    }

    /// <summary>Starts watching the file and listening for SIGHUP; called once the host runs.</summary>
    public void Start()
    {
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
        var restartNeeded = RestartNeeded(running, next);
        foreach (var key in restartNeeded)
            _log.LogWarning("Config change: {Key} changed; it takes effect only after a restart (the running value stays)", key);

        // from here on the change happens whoever waits for it: a client that goes away must not leave it half done
        var applied = await _runtime.Supervisor.Ask<ConfigApplied>(new ApplyRoutes(next, drainTimeout ?? DrainTimeout), ApplyTimeout, CancellationToken.None);
        _runtime.Apply(next);
        Interlocked.Increment(ref _reloads);
        var changedPaths = running.SourceText is { } before ? ConfigTreeDiff.ChangedPaths(before, text) ?? [] : [];
        var recorded = await RecordAsync(new RecordConfigVersion(source, author, comment, text, unlessSameAsLatest));

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

    /// <summary>Records an applied config; null (logged) when the store does not answer: the config runs, unrecorded.</summary>
    private async Task<ConfigVersionRecorded?> RecordAsync(RecordConfigVersion record)
    {
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
    private static string[] RestartNeeded(ProxConfig running, ProxConfig next)
    {
        var keys = new List<string>();
        if (!running.Listen.SequenceEqual(next.Listen)) keys.Add("prox.listen");
        if (!running.Admin.Listen.SequenceEqual(next.Admin.Listen)) keys.Add("prox.admin.listen");
        if (running.Admin.Chaos != next.Admin.Chaos) keys.Add("prox.admin.chaos");
        if (running.Limits != next.Limits) keys.Add("prox.limits");
        if (!ConfigComparer.Same(running.Webhooks.ToArray(), next.Webhooks.ToArray())) keys.Add("prox.webhooks");
        if (!ConfigComparer.Same(running.Persistence, next.Persistence)) keys.Add("prox.persistence");
        if (running.ConfigHistory != next.ConfigHistory) keys.Add("prox.config-history");
        if (running.Shutdown != next.Shutdown) keys.Add("prox.shutdown");
        if (!ConfigComparer.Same(running.Cluster, next.Cluster)) keys.Add("prox.cluster");
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
