using System.Collections.Immutable;
using Prox.Actors.ConfigHistory;
using Prox.Actors.Routing;

namespace Prox.Http.Admin;

/// <summary>
/// The one place configs are applied (implemented by the host): re-reading the config file, and applying a full
/// config text from the admin API. Every applied config is recorded in the ConfigStore as a version. Applies run one
/// at a time.
/// </summary>
public interface IConfigReloader
{
    /// <summary>False until start-up has chosen the config and started the routes on it (until then the history
    /// endpoints answer 503).</summary>
    bool IsStarted { get; }

    /// <summary>The number of the newest config version this node runs (0 before one is known). In cluster mode every
    /// node ends on the same number once a change has propagated (shown on <c>/status</c> as <c>configVersion</c>).</summary>
    long AppliedVersion { get; }

    /// <summary>The config file; null when Prox was started from text (then <see cref="ReloadAsync"/> has nothing to read).</summary>
    string? FilePath { get; }

    /// <summary>Re-reads the config file and applies it (source <c>file</c>); an unchanged file records no new version.</summary>
    Task<ReloadResult> ReloadAsync(string reason, CancellationToken ct = default);

    /// <summary>
    /// Validates <paramref name="text"/> (a whole config, HOCON or JSON) in full and applies it as the file would be;
    /// once applied it becomes a new version with this source, author and comment. Invalid: nothing changes and every
    /// error comes back. For <c>PUT /admin/config</c>, rollbacks, and anything else that edits the config through the API.
    /// </summary>
    /// <param name="drainTimeout">How long removed backends may finish in-flight requests (default 30 s).</param>
    Task<ReloadResult> ApplyTextAsync(string text, string source, string author, string comment,
        TimeSpan? drainTimeout = null, CancellationToken ct = default);
}

/// <summary>What an apply did: applied (with what changed, settings that need a restart, and the version it became)
/// or rejected (every error, with its path).</summary>
public sealed record ReloadResult(bool Ok, ConfigApplied? Changes, ImmutableArray<string> RestartNeeded, ImmutableArray<string> Errors)
{
    /// <summary>The version the applied config is (a new one, or for an unchanged file the latest); null when the
    /// config store did not answer (applied, but not recorded: logged as an error).</summary>
    public ConfigVersion? Version { get; init; }

    /// <summary>True when <see cref="Version"/> was recorded by this apply.</summary>
    public bool Recorded { get; init; }

    /// <summary>HOCON paths whose values differ from the config that ran before.</summary>
    public ImmutableArray<string> ChangedPaths { get; init; } = [];

    public static ReloadResult Rejected(IEnumerable<string> errors) => new(false, null, [], [.. errors]);

    public static ReloadResult Success(ConfigApplied applied, IEnumerable<string> restartNeeded) =>
        new(true, applied, [.. restartNeeded], []);
}
