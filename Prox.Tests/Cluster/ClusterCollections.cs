using Xunit;

namespace Prox.Tests.Cluster;

/// <summary>
/// The multi-node tests start three Prox nodes each (in this process, or as processes). xunit runs test classes in
/// parallel; six such classes at once on a 2-core machine starve every timing in the suite. Each class joins one of
/// these two collections, so at most two clusters run at a time (the tests within a collection run one after another).
/// </summary>
public static class ClusterCollections
{
    /// <summary>Clusters of in-process nodes (<c>TestCluster</c>).</summary>
    public const string InProcess = "clusters in process";

    /// <summary>Clusters of <c>prox</c> processes, and the larger in-process classes, to balance the two.</summary>
    public const string Processes = "clusters of processes";
}

[CollectionDefinition(ClusterCollections.InProcess)]
public sealed class InProcessClusterCollection;

[CollectionDefinition(ClusterCollections.Processes)]
public sealed class ProcessClusterCollection;
