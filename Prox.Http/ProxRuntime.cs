using Akka.Actor;
using Prox.Actors.Config;
using Prox.Actors.Routing;
using Prox.Http.Forwarding;

namespace Prox.Http;

/// <summary>What the HTTP side needs from the composition root: the config, the snapshot store and the actor tree.</summary>
public sealed class ProxRuntime(ProxConfig config, ProxSnapshotStore store, Func<IActorRef> supervisor)
{
    private readonly Lazy<IActorRef> _supervisor = new(supervisor);

    public ProxConfig Config { get; } = config;
    public ProxSnapshotStore Store { get; } = store;

    /// <summary>The root actor; resolved on first use because the actor system starts after the container is built.</summary>
    public IActorRef Supervisor => _supervisor.Value;

    public TrustedProxies TrustedProxies { get; } = new(config.TrustedProxies);
}
