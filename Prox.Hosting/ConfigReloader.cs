using Akka.Actor;
using Prox.Actors;
using Prox.Actors.Config;
using Prox.Actors.Events;
using Prox.Actors.Routing;
using Prox.Http;
using Prox.Http.Admin;

namespace Prox.Hosting;

/// <summary>
/// Hot reload of the config file: on a change (file watcher, debounced), on SIGHUP, or on request
/// (<c>POST /admin/config/reload</c>), re-reads and validates the whole file; an invalid file is rejected with
/// every error logged and a <c>config-rejected</c> event, and the last good config keeps serving; a valid one is
/// applied by the RouteManager, which diffs it against the running one. Reloads run one at a time.
/// </summary>
public sealed class ConfigReloader : IConfigReloader, IDisposable
{
    /// <summary>Quiet time after the last file event before reloading (editors write a file in several steps).</summary>
    public static readonly TimeSpan Debounce = TimeSpan.FromMilliseconds(300);

    /// <summary>How long removed or replaced backends may finish their in-flight requests.</summary>
    public static readonly TimeSpan DrainTimeout = TimeSpan.FromSeconds(30);

    private static readonly TimeSpan ApplyTimeout = TimeSpan.FromSeconds(30);

    private readonly string _path;
    private readonly ProxRuntime _runtime;
    private readonly Func<ActorSystem> _system;
    private readonly bool _watch;
    private readonly ILogger _log;
    private readonly SemaphoreSlim _one = new(1, 1);
    private FileSystemWatcher? _watcher;
    private readonly Timer _debounce;
    private IDisposable? _sighup;
    private int _reloads;

    /// <param name="system">The actor system, resolved when first needed (it starts after the container is built).</param>
    /// <param name="watch">Reload when the file changes (else only on SIGHUP or request).</param>
    public ConfigReloader(string path, ProxRuntime runtime, Func<ActorSystem> system, ILogger log, bool watch = true)
    {
        _path = System.IO.Path.GetFullPath(path);
        _runtime = runtime;
        _system = system;
        _log = log;
        _watch = watch;
        _debounce = new Timer(_ => _ = ReloadLoggedAsync("the config file changed"));
    }

    /// <summary>The config file this reloader reads.</summary>
    public string Path => _path;

    /// <summary>Starts watching the file and listening for SIGHUP; called once the host runs.</summary>
    public void Start()
    {
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
    public Task<ReloadResult> ReloadAsync(string reason, CancellationToken ct = default) =>
        ApplyAsync(() => ProxConfigParser.ParseFile(_path), reason, DrainTimeout, ct);

    /// <inheritdoc />
    public Task<ReloadResult> ApplyTextAsync(string text, string reason, TimeSpan? drainTimeout = null, CancellationToken ct = default) =>
        ApplyAsync(() => ProxConfigParser.ParseText(text), reason, drainTimeout ?? DrainTimeout, ct);

    /// <summary>Validates in full, then applies; one at a time, so an edit based on the running text is never
    /// applied over another one.</summary>
    private async Task<ReloadResult> ApplyAsync(Func<ConfigParseResult> parse, string reason, TimeSpan drainTimeout, CancellationToken ct)
    {
        await _one.WaitAsync(ct);
        try
        {
            var parsed = parse();
            if (!parsed.IsValid)
            {
                _log.LogWarning("Config rejected ({Reason}): {Count} errors; the running config stays", reason, parsed.Errors.Length);
                foreach (var e in parsed.Errors) _log.LogWarning("  {ConfigPath}: {Message}", e.Path, e.Message);
                var errors = parsed.Errors.Select(e => e.ToString()).ToArray();
                Publish(ProxEventKinds.ConfigRejected, $"{errors.Length} errors ({reason}): {string.Join("; ", errors.Take(5))}{(errors.Length > 5 ? "; …" : "")}");
                return ReloadResult.Rejected(errors);
            }

            var next = parsed.Config!;
            var running = _runtime.Config;
            var restartNeeded = RestartNeeded(running, next);
            foreach (var key in restartNeeded)
                _log.LogWarning("Reload: {Key} changed; it takes effect only after a restart (the running value stays)", key);

            var supervisor = _runtime.Supervisor;
            var applied = await supervisor.Ask<ConfigApplied>(new ApplyRoutes(next, drainTimeout), ApplyTimeout, ct);
            _runtime.Apply(next);
            Interlocked.Increment(ref _reloads);
            var summary = $"routes: {applied.Added.Length} added, {applied.Removed.Length} removed, {applied.Changed.Length} changed";
            var backends = applied.Routes.Where(r => r.Added + r.Removed + r.Replaced + r.Reweighted > 0)
                .Select(r => $"{r.RouteId}: backends {r.Added} added, {r.Removed} removed, {r.Replaced} replaced, {r.Reweighted} reweighted");
            var detail = string.Join("; ", new[] { $"{summary} ({reason})" }.Concat(backends));
            _log.LogInformation("Config applied: {Detail}", detail);
            Publish(ProxEventKinds.ConfigApplied, detail);
            return ReloadResult.Success(applied, restartNeeded);
        }
        finally
        {
            _one.Release();
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
