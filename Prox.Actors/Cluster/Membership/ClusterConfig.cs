using System.Collections.Immutable;

namespace Prox.Actors.Cluster.Membership;

/// <summary><c>prox.cluster</c>: Akka.Cluster membership (preview). Off by default: standalone Prox needs nothing.
/// Bound when the process starts; a reload that changes it needs a restart.</summary>
/// <remarks>In <c>Cluster.Membership</c> rather than <c>Cluster</c>: the root config names this record while the
/// cluster's actors read route config, so one namespace would make Config and Cluster import each other.</remarks>
/// <param name="Hostname">The address this node binds Akka.Remote (DotNetty TCP) to and that other nodes reach it at.</param>
/// <param name="Port">Akka.Remote's port; 0 picks a free one (then the node can only seed itself or join others).</param>
/// <param name="SeedNodes">Addresses <c>akka.tcp://prox@host:port</c> to join; empty = this node seeds itself
/// (it joins its own bound address, forming a new cluster).</param>
/// <param name="Roles">Akka.Cluster roles of this node (shown on <c>/status</c>; nothing uses them yet).</param>
public sealed record ClusterConfig(bool Enabled, string Hostname, int Port, ImmutableArray<string> SeedNodes, ImmutableArray<string> Roles)
{
    /// <summary>The actor system's name: part of every node address.</summary>
    public const string SystemName = "prox";

    public static readonly ClusterConfig Default =
        new(false, "127.0.0.1", 4053, ["akka.tcp://prox@127.0.0.1:4053"], []);

    /// <summary>True when the node joins its own address (no seed nodes listed).</summary>
    public bool SeedsItself => SeedNodes.IsEmpty;
}
