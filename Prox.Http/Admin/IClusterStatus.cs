namespace Prox.Http.Admin;

/// <summary>The cluster's membership as <c>/status</c> shows it; registered only when <c>prox.cluster.enabled</c>.</summary>
public interface IClusterStatus
{
    /// <summary>A JSON-serializable snapshot: <c>{ self, leader, members: [{ address, status, roles, upSince? }], unreachable }</c>.</summary>
    object Snapshot();
}
