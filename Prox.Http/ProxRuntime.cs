using Akka.Actor;
using Prox.Actors.Config;
using Prox.Actors.Routing;
using Prox.Http.Cache;
using Prox.Http.Forwarding;

namespace Prox.Http;

/// <summary>What the HTTP side needs from the composition root: the config, the snapshot store and the actor tree.</summary>
/// <param name="time">The clock of the response cache (tests pass a fake one); the system clock by default.</param>
public sealed class ProxRuntime(ProxConfig config, ProxSnapshotStore store, Func<IActorRef> supervisor, TimeProvider? time = null)
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

    /// <summary>The process-wide response store of every route with <c>cache</c> on.</summary>
    public ResponseCache Cache { get; } = new(time ?? TimeProvider.System, config.Cache.MaxMemoryBytes);

    /// <summary>Switches to the config chosen at start-up (the file, or the stored version Prox resumes). Only what is
    /// bound before the config history is read (listeners, server limits, persistence, history size) stays the file's.</summary>
    public void Start(ProxConfig chosen)
    {
        var file = _config;
        _trusted = new TrustedProxies(chosen.TrustedProxies);
        _config = chosen with
        {
            Listen = file.Listen, Admin = file.Admin with { Tokens = chosen.Admin.Tokens }, Limits = file.Limits,
            Persistence = file.Persistence, ConfigHistory = file.ConfigHistory, Cluster = file.Cluster,
        };
    }

    /// <summary>Switches to a reloaded config. Settings bound at start-up (listeners, server limits) keep their
    /// running values: the reloader warns that they need a restart.</summary>
    public void Apply(ProxConfig next)
    {
        var running = _config;
        _trusted = new TrustedProxies(next.TrustedProxies);
        Cache.SetMaxBytes(next.Cache.MaxMemoryBytes);
        _config = next with
        {
            // admin tokens apply at once (they are checked per request); the admin listeners need a restart
            Listen = running.Listen, Admin = running.Admin with { Tokens = next.Admin.Tokens }, Limits = running.Limits,
            Webhooks = running.Webhooks, Persistence = running.Persistence, ConfigHistory = running.ConfigHistory, Cluster = running.Cluster,
        };
    }
}
