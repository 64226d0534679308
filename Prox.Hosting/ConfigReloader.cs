using Akka.Actor;
using Prox.Actors.ConfigApply;
using Prox.Actors.ConfigHistory;
using Prox.Http;
using Prox.Http.Admin;
using Prox.Http.Runtime;

namespace Prox.Hosting;

/// <summary>
/// The host's side of config application: the <see cref="ConfigApplier"/> actor applies every config one at a time;
/// this adapter starts it, asks it on behalf of the admin API (<see cref="IConfigReloader"/>, with a timeout and the
/// caller's cancellation), and tells it what the file watcher (debounced by the actor) and SIGHUP see. At start-up
/// <see cref="StartServingAsync"/> loads the stored history and lets the applier choose between it and the file
/// (<see cref="StartupChoice"/>). In cluster mode a <see cref="ConfigFollower"/> hands the applier the versions other
/// nodes record: every node applies versions in number order, skipping any not newer than the one it last applied.
/// </summary>
public sealed class ConfigReloader : IConfigReloader, IDisposable
{
    /// <summary>How long an admin request waits for its apply: a whole apply (routes, then store) plus time to wait
    /// for one ahead of it. One that has not started by then does not start.</summary>
    public static readonly TimeSpan AskTimeout = ConfigApplier.ApplyTimeout + ConfigApplier.StoreTimeout + TimeSpan.FromSeconds(45);

    private readonly string? _path;
    private readonly ProxRuntime _runtime;
    private readonly Func<ActorSystem> _system;
    private readonly bool _watch;
    private readonly ConfigApplierStatus _status = new();
    private readonly Lazy<IActorRef> _applier;
    private FileSystemWatcher? _watcher;
    private IDisposable? _sighup;
    private IActorRef? _follower;

    /// <param name="path">The config file; null when Prox was started from text (nothing to reload, the API still applies).</param>
    /// <param name="system">The actor system, resolved when first needed (it starts after the container is built).</param>
    /// <param name="watch">Reload when the file changes (else only on SIGHUP or request).</param>
    public ConfigReloader(string? path, ProxRuntime runtime, Func<ActorSystem> system, bool watch = true)
    {
        _path = path is null ? null : System.IO.Path.GetFullPath(path);
        _runtime = runtime;
        _system = system;
        _watch = watch;
        // created on first use by whichever comes first (start-up, or an admin request while Prox starts): it holds
        // every apply until start-up has chosen the config
        _applier = new Lazy<IActorRef>(() => _system().ActorOf(
            ConfigApplier.Props(_runtime.Supervisor, _runtime, _path, _status), "config-applier"));
    }

    /// <inheritdoc />
    public string? FilePath => _path;

    /// <inheritdoc />
    public bool IsStarted => _status.IsStarted;

    /// <inheritdoc />
    public long AppliedVersion => _status.AppliedVersion;

    /// <summary>Configs applied since start.</summary>
    public int Reloads => _status.Reloads;

    /// <summary>
    /// Start-up: asks the ConfigStore for its history and has the applier start the routes on the file's config, or on
    /// the latest stored version when the file has not changed since Prox last read it (<see cref="StartupChoice"/>).
    /// A file that wins becomes a new version. Called once, before the host reports ready; no route exists before it.
    /// </summary>
    /// <exception cref="ProxStartupException">The config store did not load its history in time.</exception>
    public async Task<ConfigVersion?> StartServingAsync(CancellationToken ct = default)
    {
        var applier = _applier.Value;
        ConfigStoreState state;
        try
        {
            await ProxPersistence.StartPluginsAsync(_system(), ConfigApplier.StoreTimeout, ct);
            state = await _runtime.Supervisor.Ask<ConfigStoreState>(GetConfigStoreState.Instance, ConfigApplier.StoreTimeout, ct);
        }
        catch (AskTimeoutException)
        {
            throw new ProxStartupException(
                $"the config history in {_runtime.Config.Persistence.Where} did not load within {ConfigApplier.StoreTimeout.TotalSeconds:0} s (see the log above)");
        }
        var started = await applier.Ask<ServingStarted>(new StartServing(state), AskTimeout, ct);
        return started.Version;
    }

    /// <summary>Starts watching the file and listening for SIGHUP, and in cluster mode following the versions other
    /// nodes record; called once the host runs.</summary>
    public void Start()
    {
        var applier = _applier.Value;
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
            _watcher.Changed += (_, _) => applier.Tell(ConfigFileChanged.Instance);
            _watcher.Created += (_, _) => applier.Tell(ConfigFileChanged.Instance);
            _watcher.Renamed += (_, _) => applier.Tell(ConfigFileChanged.Instance);
            _watcher.EnableRaisingEvents = true;
        }
        if (!OperatingSystem.IsWindows())
            _sighup = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGHUP, ctx =>
            {
                ctx.Cancel = true; // SIGHUP reloads, as with nginx and HAProxy; it does not stop Prox
                applier.Tell(new ReloadConfigFile("SIGHUP")); // told: the applier logs a failure
            });
    }

    /// <inheritdoc />
    public Task<ReloadResult> ReloadAsync(string reason, CancellationToken ct = default) =>
        AskAsync(abandoned => new ReloadConfigFile(reason, abandoned), ct);

    /// <inheritdoc />
    public Task<ReloadResult> ApplyTextAsync(string text, string source, string author, string comment,
        TimeSpan? drainTimeout = null, CancellationToken ct = default) =>
        AskAsync(abandoned => new ApplyConfigText(text, source, author, comment, drainTimeout, abandoned), ct);

    private async Task<ReloadResult> AskAsync(Func<CancellationToken, object> message, CancellationToken ct)
    {
        // the apply is abandoned (if it has not started) when the caller goes away or stops waiting
        using var abandoned = CancellationTokenSource.CreateLinkedTokenSource(ct);
        ConfigApplyReply reply;
        try
        {
            reply = await _applier.Value.Ask<ConfigApplyReply>(message(abandoned.Token), AskTimeout, ct);
        }
        finally
        {
            // answered: nothing is left to abandon; timed out or cancelled: an apply still queued must not start
            abandoned.Cancel();
        }
        return reply switch
        {
            ConfigTextApplied a => ReloadResult.Success(a.Changes, a.RestartNeeded) with
            {
                Version = a.Recorded?.Version,
                Recorded = a.Recorded?.Recorded ?? false,
                ChangedPaths = a.ChangedPaths,
            },
            ConfigTextRejected r => ReloadResult.Rejected(r.Errors),
            _ => throw new InvalidOperationException($"unexpected reply {reply.GetType().Name}"),
        };
    }

    /// <summary>Cluster mode: has the applier apply <paramref name="version"/> (recorded by <paramref name="origin"/>,
    /// or null: found by asking the store) unless this node already runs it or a newer one.</summary>
    internal Task FollowAsync(ConfigVersion version, string? origin) =>
        _applier.Value.Ask<VersionFollowed>(new FollowConfigVersion(version, origin), AskTimeout);

    public void Dispose()
    {
        _watcher?.Dispose();
        _sighup?.Dispose();
    }
}
