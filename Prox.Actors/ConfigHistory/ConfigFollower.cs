using Akka.Actor;
using Akka.Cluster.Tools.PublishSubscribe;
using Akka.Event;

namespace Prox.Actors.ConfigHistory;

/// <summary>
/// Cluster mode, one per node: hands every config version the shared store records to <c>apply</c> (the host's
/// config reloader, which applies a version only when it is newer than the one the node runs). Versions come from
/// distributed pub-sub (<see cref="ConfigVersionPublished"/>) as soon as they are recorded; because pub-sub is at
/// most once (a node that was joining, or a message lost while the singleton moved), the follower also asks the store
/// for its latest version at start and every <see cref="ReconcileInterval"/>, so a missed version is caught up.
/// </summary>
public sealed class ConfigFollower : ReceiveActor, IWithTimers
{
    /// <summary>How often a node asks the shared store for its latest version.</summary>
    public static readonly TimeSpan ReconcileInterval = TimeSpan.FromSeconds(5);

    private sealed record Reconcile
    {
        public static readonly Reconcile Instance = new();
    }

    private sealed record Followed
    {
        public static readonly Followed Instance = new();
    }

    private readonly IActorRef _store;
    private readonly Func<ConfigVersion, string?, Task> _apply;
    private readonly TimeSpan _interval;
    private readonly ILoggingAdapter _log = Context.GetLogger();

    /// <param name="store">Where <see cref="GetConfigVersion"/> is answered (the ProxSupervisor, which forwards to the
    /// singleton's proxy).</param>
    /// <param name="apply">Applies a version from the named origin node (null: found by asking the store).</param>
    public ConfigFollower(IActorRef store, Func<ConfigVersion, string?, Task> apply, TimeSpan interval)
    {
        _store = store;
        _apply = apply;
        _interval = interval;
        Receive<ConfigVersionPublished>(p => Follow(p.Version, p.OriginNode));
        Receive<ConfigVersionReply>(r =>
        {
            if (r.Version is { } latest) Follow(latest, null);
        });
        Receive<Reconcile>(_ => _store.Tell(new GetConfigVersion(null)));
        Receive<SubscribeAck>(_ => { });
        Receive<Followed>(_ => { });
        Receive<Status.Failure>(f => _log.Warning("Applying a config version from the shared store failed: {Error}; " +
                                                 "it is tried again within {Interval}", f.Cause.Message, _interval));
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(IActorRef store, Func<ConfigVersion, string?, Task> apply, TimeSpan? interval = null) =>
        Akka.Actor.Props.Create(() => new ConfigFollower(store, apply, interval ?? ReconcileInterval));

    protected override void PreStart()
    {
        DistributedPubSub.Get(Context.System).Mediator.Tell(new Subscribe(ConfigVersionPublished.Topic, Self));
        Self.Tell(Reconcile.Instance); // catch up at once: versions recorded before this node subscribed
        Timers.StartPeriodicTimer("reconcile", Reconcile.Instance, _interval);
    }

    private void Follow(ConfigVersion version, string? origin) =>
        _apply(version, origin).PipeTo(Self, success: () => Followed.Instance, failure: e => new Status.Failure(e));
}
