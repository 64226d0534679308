using Akka.Actor;
using Prox.Actors.Config;
using Prox.Actors.ConfigApply;
using Prox.Actors.Routing;
using Prox.Http.Forwarding;

namespace Prox.Http.Runtime;

/// <summary>What the HTTP side needs from the composition root: the config, the snapshot store and the actor tree.
/// Every capability folder of Prox.Http may read it; it imports none of them but Forwarding's <see cref="TrustedProxies"/>,
/// so state a capability owns (the response cache) is that capability's own service, told of reloads by
/// <see cref="Applied"/>.</summary>
public sealed class ProxRuntime(ProxConfig config, ProxSnapshotStore store, Func<IActorRef> supervisor)
    : IRunningConfig
{
    private readonly Lazy<IActorRef> _supervisor = new(supervisor);
    private volatile ProxConfig _config = config;
    private volatile TrustedProxies _trusted = new(config.TrustedProxies);

    /// <summary>The running config (the last one applied by a reload); read per request with one volatile load.</summary>
    public ProxConfig Config => _config;

    public ProxSnapshotStore Store { get; } = store;

    /// <summary>The root actor; resolved on first use because the actor system starts after the container is built.</summary>
    public IActorRef Supervisor => _supervisor.Value;

    public TrustedProxies TrustedProxies => _trusted;

    /// <summary>Raised after <see cref="Apply"/> switched to a reloaded config (on the applier's thread), for services
    /// that size themselves from it (the response cache's memory limit).</summary>
    public event Action<ProxConfig>? Applied;

    /// <summary>Switches to the config chosen at start-up (the file, or the stored version Prox resumes). What was bound
    /// while the host was built stays the file's (<see cref="StartOnlySettings.ForStart"/>).</summary>
    public void Start(ProxConfig chosen)
    {
        _trusted = new TrustedProxies(chosen.TrustedProxies);
        _config = StartOnlySettings.ForStart(_config, chosen);
    }

    /// <summary>Switches to a reloaded config. Settings bound at start keep their running values
    /// (<see cref="StartOnlySettings.ForReload"/>): the applier warns that they need a restart.</summary>
    /// <summary>The port of the first TLS proxy listener once bound (where <c>redirect-to-https</c> points); null
    /// without one.</summary>
    public int? HttpsPort { get; set; }

    /// <summary>Checks the files a config names (set by the host: TLS certificates and keys, against the config
    /// file's folder); null = nothing to check.</summary>
    public Func<ProxConfig, IReadOnlyList<Prox.Actors.Hocon.ConfigError>>? FileCheck { get; set; }

    /// <inheritdoc />
    public IReadOnlyList<Prox.Actors.Hocon.ConfigError> CheckFiles(ProxConfig next) => FileCheck?.Invoke(next) ?? [];

    public void Apply(ProxConfig next)
    {
        _trusted = new TrustedProxies(next.TrustedProxies);
        _config = StartOnlySettings.ForReload(_config, next);
        Applied?.Invoke(next);
    }
}
