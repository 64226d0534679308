using Akka.Actor;
using Akka.Cluster;
using Akka.Cluster.Hosting;
using Akka.Cluster.Hosting.SBR;
using Akka.Hosting;
using Akka.Remote.Hosting;
using Prox.Actors.Cluster.Membership;
using Prox.Actors.Config;
using Prox.Http.Admin;

namespace Prox.Hosting;

/// <summary>
/// Cluster mode (preview, <c>prox.cluster.enabled = true</c>): Akka.Remote on DotNetty TCP and Akka.Cluster membership
/// with the keep-majority split-brain resolver. Nothing here runs in standalone mode.
/// </summary>
public static class ProxCluster
{
    /// <summary>Akka's default, stated so the README's promise does not depend on a library default changing: how long
    /// the membership must be stable (no changes in reachability) before the split-brain resolver decides.</summary>
    public static readonly TimeSpan StableAfter = TimeSpan.FromSeconds(20);

    /// <summary>Remoting and clustering. Call before the config file's own <c>akka { … }</c> block is added, so that
    /// the user's <c>akka.cluster</c> / <c>akka.remote</c> settings override these.</summary>
    public static void Configure(AkkaConfigurationBuilder ab, ClusterConfig cfg)
    {
        if (!cfg.Enabled) return;
        ab.WithRemoting(cfg.Hostname, cfg.Port);
        ab.WithClustering(new ClusterOptions
        {
            SeedNodes = cfg.SeedNodes.ToArray(),
            Roles = cfg.Roles.ToArray(),
            SplitBrainResolver = new KeepMajorityOption(),
        });
        ab.AddHocon($$"""
            akka.cluster.downing-provider-class = "Akka.Cluster.SBR.SplitBrainResolverProvider, Akka.Cluster"
            akka.cluster.split-brain-resolver.active-strategy = keep-majority
            akka.cluster.split-brain-resolver.stable-after = {{(int)StableAfter.TotalSeconds}}s
            """, HoconAddMode.Prepend);
        ab.AddHocon(Prox.Actors.Cluster.ClusterSerializer.Hocon, HoconAddMode.Prepend);
    }

    /// <summary>With no seed nodes the node forms a cluster of its own: it joins its own (bound) address.</summary>
    public static void Start(ActorSystem system, ClusterConfig cfg)
    {
        if (!cfg.Enabled || !cfg.SeedsItself) return;
        var cluster = Cluster.Get(system);
        cluster.Join(cluster.SelfAddress);
    }
}

/// <summary>Reads Akka.Cluster's current state (a snapshot kept by the cluster extension; no actor is asked).</summary>
public sealed class ClusterStatus(Func<ActorSystem> system, Func<Prox.Actors.Cluster.ClusterBackendStats?> backends) : IClusterStatus
{
    public string SelfAddress => Cluster.Get(system()).SelfAddress.ToString();

    public ClusterView Snapshot()
    {
        var cluster = Cluster.Get(system());
        var state = cluster.State;
        var unreachable = state.Unreachable;
        return new ClusterView(
            cluster.SelfAddress.ToString(),
            state.Leader?.ToString(),
            state.Members.OrderBy(m => m.Address.ToString(), StringComparer.Ordinal).Select(m => new ClusterMemberView(
                m.Address.ToString(),
                m.Status.ToString(),
                m.Roles.Where(r => !r.StartsWith("dc-", StringComparison.Ordinal)).Order(StringComparer.Ordinal).ToArray(),
                !unreachable.Contains(m))).ToArray(),
            unreachable.Select(m => new UnreachableMemberView(m.Address.ToString(), m.Status.ToString())).ToArray(),
            backends()?.Snapshot());
    }
}
