using Prox.Actors.Cluster;

namespace Prox.Http.Admin;

/// <summary>The cluster's membership as <c>/status</c> shows it; registered only when <c>prox.cluster.enabled</c>.</summary>
public interface IClusterStatus
{
    /// <summary>This node's view of the cluster now.</summary>
    ClusterView Snapshot();
}

/// <summary>The <c>cluster</c> member of <c>/status</c>.</summary>
/// <param name="Leader">Null (left out) while the cluster has none.</param>
/// <param name="Backends">This node's share of the sharded backends; null (left out) before the region exists.</param>
public sealed record ClusterView(string Self, string? Leader, ClusterMemberView[] Members, UnreachableMemberView[] Unreachable,
    ClusterBackendSnapshot? Backends);

/// <summary>One member, with its roles (data-centre roles left out) and whether this node can reach it.</summary>
public sealed record ClusterMemberView(string Address, string Status, string[] Roles, bool Reachable);

/// <summary>A member this node cannot reach now.</summary>
public sealed record UnreachableMemberView(string Address, string Status);
