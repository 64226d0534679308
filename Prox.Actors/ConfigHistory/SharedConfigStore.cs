using Akka.Actor;
using Akka.Cluster.Tools.Singleton;

namespace Prox.Actors.ConfigHistory;

/// <summary>
/// Cluster mode: one ConfigStore for the whole cluster, so every node sees one history with one version sequence.
/// It runs as a cluster singleton (on the oldest node, recovering from the shared PostgreSQL journal under the same
/// persistence id as a standalone store); every node runs the singleton manager, so any node can take it over, and a
/// proxy, which buffers messages while the singleton starts or moves.
/// </summary>
public static class SharedConfigStore
{
    /// <summary>Child name of the singleton manager; the proxy takes the standalone store's name, <c>config</c>.</summary>
    public const string ManagerName = "config-singleton";

    /// <summary>Starts the singleton manager and the proxy as children of <paramref name="context"/>'s actor.</summary>
    /// <returns>The proxy: send it what a standalone ConfigStore is sent.</returns>
    public static IActorRef Start(IActorContext context, int keep)
    {
        var system = context.System;
        system.Settings.InjectTopLevelFallback(ClusterSingleton.DefaultConfig());
        context.ActorOf(ClusterSingletonManager.Props(ConfigStore.Supervised(keep, publish: true), StopConfigStore.Instance,
            ClusterSingletonManagerSettings.Create(system)), ManagerName);
        return context.ActorOf(ClusterSingletonProxy.Props($"{context.Self.Path.ToStringWithoutAddress()}/{ManagerName}",
            ClusterSingletonProxySettings.Create(system)), "config");
    }
}
