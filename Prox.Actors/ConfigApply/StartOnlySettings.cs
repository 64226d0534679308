using System.Collections.Immutable;
using Prox.Actors.Config;

namespace Prox.Actors.ConfigApply;

/// <summary>When a start-only setting is bound, which decides where a running Prox takes it from.</summary>
public enum BoundAt
{
    /// <summary>While the host is built, from the config file, before the config history is read (sockets, server
    /// limits, the journal, the cluster). Start-up keeps the file's value even when it resumes a stored version.</summary>
    HostBuild,

    /// <summary>When the routes start, from the config chosen at start-up (the file or the resumed version): the
    /// webhook Notifier. Start-up takes the chosen value; a reload keeps the running one.</summary>
    Serving,

    /// <summary>By the host from the config it was built with, never from the running config (the shutdown drain
    /// timeout). Start-up and reloads warn about a change, but the running config carries the new value as written:
    /// nothing reads it from there.</summary>
    HostOnly,
}

/// <summary>One setting a running Prox cannot change: its HOCON key, when it is bound, whether it is each node's own
/// in a cluster, how two configs compare on it, and how to keep one config's value in another.</summary>
/// <param name="NodeLocal">Each node's own in a cluster (listeners, persistence, cluster): a version recorded by another
/// node names that node's values, which this node must not warn about.</param>
/// <param name="Same">True when both configs have the same value.</param>
/// <param name="Keep">Returns the first config with the second one's value of this setting.</param>
public sealed record StartOnlySetting(string Key, BoundAt BoundAt, bool NodeLocal,
    Func<ProxConfig, ProxConfig, bool> Same, Func<ProxConfig, ProxConfig, ProxConfig> Keep);

/// <summary>
/// The one list of the settings a reload cannot change. Start-up (<see cref="ForStart"/>), every reload
/// (<see cref="ForReload"/>) and the "needs a restart" warnings (<see cref="RestartNeeded"/>,
/// <see cref="FileWinsAtStart"/>) all read it, so what is kept and what is warned about cannot drift apart.
/// Admin tokens are not on it: they are checked per request and apply at once.
/// </summary>
public static class StartOnlySettings
{
    /// <summary>Every start-only setting, in the order the warnings name them.</summary>
    public static readonly ImmutableArray<StartOnlySetting> All =
    [
        new("prox.listen", BoundAt.HostBuild, NodeLocal: true,
            (a, b) => a.Listen.SequenceEqual(b.Listen), (into, from) => into with { Listen = from.Listen }),
        new("prox.admin.listen", BoundAt.HostBuild, NodeLocal: true,
            (a, b) => a.Admin.Listen.SequenceEqual(b.Admin.Listen),
            (into, from) => into with { Admin = into.Admin with { Listen = from.Admin.Listen } }),
        new("prox.admin.chaos", BoundAt.HostBuild, NodeLocal: false,
            (a, b) => a.Admin.Chaos == b.Admin.Chaos, (into, from) => into with { Admin = into.Admin with { Chaos = from.Admin.Chaos } }),
        new("prox.limits", BoundAt.HostBuild, NodeLocal: false,
            (a, b) => a.Limits == b.Limits, (into, from) => into with { Limits = from.Limits }),
        new("prox.webhooks", BoundAt.Serving, NodeLocal: false,
            (a, b) => ConfigComparer.Same(a.Webhooks.ToArray(), b.Webhooks.ToArray()), (into, from) => into with { Webhooks = from.Webhooks }),
        new("prox.persistence", BoundAt.HostBuild, NodeLocal: true,
            (a, b) => ConfigComparer.Same(a.Persistence, b.Persistence), (into, from) => into with { Persistence = from.Persistence }),
        new("prox.config-history", BoundAt.HostBuild, NodeLocal: false,
            (a, b) => a.ConfigHistory == b.ConfigHistory, (into, from) => into with { ConfigHistory = from.ConfigHistory }),
        new("prox.shutdown", BoundAt.HostOnly, NodeLocal: false,
            (a, b) => a.Shutdown == b.Shutdown, (into, from) => into with { Shutdown = from.Shutdown }),
        new("prox.cluster", BoundAt.HostBuild, NodeLocal: true,
            (a, b) => ConfigComparer.Same(a.Cluster, b.Cluster), (into, from) => into with { Cluster = from.Cluster }),
    ];

    /// <summary>The config to run at start-up: <paramref name="chosen"/> (the file, or the stored version Prox resumes)
    /// with the file's values of what was bound while the host was built.</summary>
    public static ProxConfig ForStart(ProxConfig file, ProxConfig chosen) =>
        KeepWhere(chosen, file, s => s.BoundAt == BoundAt.HostBuild);

    /// <summary>The config to run after a reload: <paramref name="next"/> with the running values of everything bound
    /// at start (the reload warned about those that differ).</summary>
    public static ProxConfig ForReload(ProxConfig running, ProxConfig next) =>
        KeepWhere(next, running, s => s.BoundAt != BoundAt.HostOnly);

    /// <summary>The keys a reload from <paramref name="running"/> to <paramref name="next"/> changes but cannot apply.</summary>
    /// <param name="nodeLocal">Leave out the keys that are each node's own in a cluster (a version from another node).</param>
    public static string[] RestartNeeded(ProxConfig running, ProxConfig next, bool nodeLocal) =>
        [.. All.Where(s => !(nodeLocal && s.NodeLocal) && !s.Same(running, next)).Select(s => s.Key)];

    /// <summary>The keys a resumed version sets differently from the file where the file's value is used: everything
    /// start-only except what is bound from the chosen config (<see cref="BoundAt.Serving"/>).</summary>
    public static string[] FileWinsAtStart(ProxConfig file, ProxConfig chosen) =>
        [.. All.Where(s => s.BoundAt != BoundAt.Serving && !s.Same(file, chosen)).Select(s => s.Key)];

    private static ProxConfig KeepWhere(ProxConfig into, ProxConfig from, Func<StartOnlySetting, bool> which)
    {
        foreach (var s in All)
            if (which(s)) into = s.Keep(into, from);
        return into;
    }
}
