using System.Collections.Immutable;
using System.Text;
using Prox.Actors.Storage;

namespace Prox.Actors.ConfigHistory;

/// <summary>Where a config version came from.</summary>
public static class ConfigSources
{
    /// <summary>Read from the config file (start-up, file watcher, SIGHUP, <c>POST /admin/config/reload</c>).</summary>
    public const string File = "file";

    /// <summary>Sent through the admin API (<c>PUT /admin/config</c>, dynamic backends).</summary>
    public const string Api = "api";

    /// <summary>An older version applied again (<c>POST /admin/config/rollback</c>).</summary>
    public const string Rollback = "rollback";
}

/// <summary>Messages the ProxSupervisor forwards to the ConfigStore. In cluster mode the store is a cluster singleton
/// (<see cref="SharedConfigStore"/>), so these and their replies cross nodes: each is an <see cref="IClusterMessage"/>.</summary>
public interface IConfigStoreCommand : IClusterMessage;

/// <summary>One applied config. <paramref name="Number"/> only ever grows, also after old versions are trimmed.</summary>
/// <param name="Author">The admin identity that applied it, <c>file</c> for the config file.</param>
/// <param name="Text">The full config text as written (before <c>${…}</c> substitution, so secrets from the environment stay out).</param>
public sealed record ConfigVersion(long Number, DateTimeOffset At, string Source, string Author, string Comment, string Text)
{
    public int Bytes => Encoding.UTF8.GetByteCount(Text);
}

/// <summary>Record an applied config as the next version. Answered with <see cref="ConfigVersionRecorded"/>.</summary>
/// <param name="UnlessSameAsLatest">Record nothing when <paramref name="Text"/> equals the latest version's text
/// (a reload of an unchanged file); the reply then carries the latest version with <c>Recorded = false</c>.</param>
/// <param name="Origin">Cluster mode: the address of the node that applied it, named in the
/// <see cref="ConfigVersionPublished"/> that tells the other nodes. Not stored.</param>
public sealed record RecordConfigVersion(string Source, string Author, string Comment, string Text, bool UnlessSameAsLatest = false,
    string? Origin = null) : IConfigStoreCommand;

public sealed record ConfigVersionRecorded(ConfigVersion Version, bool Recorded) : IClusterMessage;

/// <summary>One version (null = the latest). Answered with <see cref="ConfigVersionReply"/>.</summary>
public sealed record GetConfigVersion(long? Number) : IConfigStoreCommand;

/// <summary>Null when the store has no such version (never recorded, or trimmed by retention).</summary>
public sealed record ConfigVersionReply(ConfigVersion? Version) : IClusterMessage;

/// <summary>A page of versions, newest first, older than <paramref name="Before"/> (null = from the newest).</summary>
public sealed record GetConfigVersions(long? Before, int Limit) : IConfigStoreCommand;

/// <param name="Next">Pass as <c>Before</c> for the next page; null on the last page.</param>
public sealed record ConfigVersionsPage(ImmutableArray<ConfigVersion> Versions, long? Next) : IClusterMessage;

/// <summary>What start-up needs to choose between the file and the stored config. Answered with <see cref="ConfigStoreState"/>.</summary>
public sealed record GetConfigStoreState : IConfigStoreCommand
{
    public static readonly GetConfigStoreState Instance = new();
}

/// <param name="LastFileText">Text of the newest version that came from the file, kept even after retention trimmed that version.</param>
public sealed record ConfigStoreState(ConfigVersion? Latest, string? LastFileText) : IClusterMessage;

/// <summary>
/// Cluster mode: the shared store recorded <paramref name="Version"/>; published on distributed pub-sub
/// (<see cref="Topic"/>) so every node applies it. At most once: nodes also ask for the latest version now and then
/// (<see cref="ConfigFollower"/>).
/// </summary>
/// <param name="OriginNode">The address of the node that applied it first (null when it did not say).</param>
public sealed record ConfigVersionPublished(ConfigVersion Version, string? OriginNode) : IClusterMessage
{
    /// <summary>The distributed pub-sub topic of new config versions.</summary>
    public const string Topic = "prox-config";
}

/// <summary>Stops the ConfigStore once the writes it has started are done (persistent actors stash commands while
/// persisting): the cluster singleton's termination message, so a hand-over never cuts a recording short.</summary>
public sealed record StopConfigStore
{
    public static readonly StopConfigStore Instance = new();
}

/// <summary>Persisted by the ConfigStore (bound to <see cref="ConfigStoreSerializer"/>).</summary>
public interface IConfigStorePersisted;

/// <summary>The journal event: a config was applied and became version <paramref name="Number"/>.</summary>
public sealed record ConfigVersionAdded(long Number, DateTimeOffset At, string Source, string Author, string Comment, string Text)
    : IConfigStorePersisted
{
    public ConfigVersion ToVersion() => new(Number, At, Source, Author, Comment, Text);

    public static ConfigVersionAdded From(ConfigVersion v) => new(v.Number, v.At, v.Source, v.Author, v.Comment, v.Text);
}

/// <summary>Everything the store holds: the kept versions (oldest first), the last number and the last file text.</summary>
public sealed record ConfigStoreSnapshot(long LastNumber, string? LastFileText, ImmutableArray<ConfigVersionAdded> Versions)
    : IConfigStorePersisted;
