using System.Collections.Immutable;
using Prox.Actors.Config;
using Prox.Actors.ConfigHistory;
using Prox.Actors.Routing;

namespace Prox.Actors.ConfigApply;

/// <summary>
/// The config the HTTP side runs (implemented by the host's runtime): the applier switches it after the routes have
/// taken a config. Defined here so the actor needs no reference to ASP.NET Core.
/// </summary>
public interface IRunningConfig
{
    /// <summary>The config running now.</summary>
    ProxConfig Config { get; }

    /// <summary>Switches to the config chosen at start-up (see <see cref="StartOnlySettings.ForStart"/>).</summary>
    void Start(ProxConfig chosen);

    /// <summary>Switches to a reloaded config (see <see cref="StartOnlySettings.ForReload"/>).</summary>
    void Apply(ProxConfig next);

    /// <summary>What a valid text still needs before it is applied: the files it names can be read and used (TLS
    /// certificates and keys). Errors reject it like any other config error. None by default.</summary>
    IReadOnlyList<Hocon.ConfigError> CheckFiles(ProxConfig next) => [];
}

/// <summary>Start serving: choose between the config file and the stored history (<paramref name="State"/>, which
/// the host asked the store for), start the routes, record the file when it wins. Sent once; until then every apply
/// waits. Answered with <see cref="ServingStarted"/>.</summary>
public sealed record StartServing(ConfigStoreState State);

/// <summary>The routes run on the chosen config; every apply that waited for start-up runs next.</summary>
/// <param name="Version">The version Prox runs: the one it resumed, or the file's new one; null when it started from
/// text, or when the store did not answer the recording.</param>
public sealed record ServingStarted(ConfigVersion? Version);

/// <summary>Re-read the config file and apply it (source <c>file</c>); an unchanged file records no new version.
/// Answered with a <see cref="ConfigApplyReply"/> when asked; told (SIGHUP), a failure is logged.</summary>
/// <param name="Abandoned">The caller gave up: an apply that has not started by then does not start.</param>
public sealed record ReloadConfigFile(string Reason, CancellationToken Abandoned = default);

/// <summary>Validate a whole config text and apply it as the file would be; once applied it becomes a version with
/// this source, author and comment. Answered with a <see cref="ConfigApplyReply"/>.</summary>
/// <param name="DrainTimeout">How long removed backends may finish in-flight requests (null: the default 30 s).</param>
/// <param name="Abandoned">The caller gave up: an apply that has not started by then does not start.</param>
public sealed record ApplyConfigText(string Text, string Source, string Author, string Comment,
    TimeSpan? DrainTimeout = null, CancellationToken Abandoned = default);

/// <summary>Cluster mode: apply a version another node recorded, unless this node runs it or a newer one. Not
/// recorded again, no <c>config-applied</c> event. Answered with <see cref="VersionFollowed"/>.</summary>
/// <param name="Origin">The node that applied it first; null when it came from asking the store.</param>
public sealed record FollowConfigVersion(ConfigVersion Version, string? Origin);

/// <summary>The followed version is applied, or was skipped (not newer, already running, or invalid here).</summary>
public sealed record VersionFollowed
{
    public static readonly VersionFollowed Instance = new();
}

/// <summary>The file watcher saw the config file change: reload once it has been quiet for
/// <see cref="ConfigApplier.Debounce"/> (editors write a file in several steps).</summary>
public sealed record ConfigFileChanged
{
    public static readonly ConfigFileChanged Instance = new();
}

/// <summary>What an apply did: <see cref="ConfigTextRejected"/> or <see cref="ConfigTextApplied"/>.</summary>
public abstract record ConfigApplyReply;

/// <summary>Invalid (or unreadable): nothing changed; every error with its path.</summary>
public sealed record ConfigTextRejected(ImmutableArray<string> Errors) : ConfigApplyReply;

/// <summary>Applied by the routes and the runtime.</summary>
/// <param name="RestartNeeded">Start-only keys the config changes but a running Prox keeps.</param>
/// <param name="Recorded">The store's answer; null when it did not answer (applied, but not recorded: logged).</param>
/// <param name="ChangedPaths">HOCON paths whose values differ from the config that ran before.</param>
public sealed record ConfigTextApplied(ConfigApplied Changes, ImmutableArray<string> RestartNeeded,
    ConfigVersionRecorded? Recorded, ImmutableArray<string> ChangedPaths) : ConfigApplyReply;

/// <summary>
/// What the applier has done so far, readable without asking it (<c>/status</c> reads it per request). The applier
/// is the only writer.
/// </summary>
public sealed class ConfigApplierStatus
{
    private int _started;
    private long _applied;
    private int _reloads;

    /// <summary>True once start-up has chosen the config and started the routes on it.</summary>
    public bool IsStarted => Volatile.Read(ref _started) == 1;

    /// <summary>The newest config version this node runs (0 before one is known).</summary>
    public long AppliedVersion => Interlocked.Read(ref _applied);

    /// <summary>Configs applied since start (reloads, API changes, followed versions).</summary>
    public int Reloads => Volatile.Read(ref _reloads);

    internal void MarkStarted() => Volatile.Write(ref _started, 1);

    internal void SetApplied(long number) => Interlocked.Exchange(ref _applied, number);

    internal void CountReload() => Interlocked.Increment(ref _reloads);
}
