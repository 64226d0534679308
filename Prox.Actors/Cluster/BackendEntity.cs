using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.Event;
using Prox.Actors.Backends;
using Prox.Actors.Config;
using Prox.Actors.Health;
using Prox.Actors.Recovery;
using Prox.Actors.Routing;

namespace Prox.Actors.Cluster;

/// <summary>
/// Cluster mode: the one owner of a backend, as a Cluster.Sharding entity (docs/architecture.md, "The cluster seam"). It runs the
/// backend's <see cref="BackendActor"/> — health checks, breaker, passive ejection, recovery, events — on whichever
/// node sharding placed it, so exactly one node probes the backend and raises its events. Every node's routes
/// subscribe (<see cref="BackendLink"/>): the entity sends them each availability change, and they send it their
/// request outcomes in batches. The backend's config comes from this node's applied config (all nodes apply the same
/// versions), so nothing about it travels but a fingerprint.
/// </summary>
public sealed class BackendEntity : ReceiveActor, IWithTimers
{
    /// <summary>How often the entity checks whether anyone still subscribes; it passivates when nobody did for this long.</summary>
    public static readonly TimeSpan IdleCheck = TimeSpan.FromSeconds(10);

    /// <summary>How long a new owner waits for a subscriber's <see cref="BackendCarry"/> before it starts afresh.</summary>
    public static readonly TimeSpan SeedWait = TimeSpan.FromSeconds(2);

    private sealed record CheckIdle
    {
        public static readonly CheckIdle Instance = new();
    }

    private sealed record SeedTimeout
    {
        public static readonly SeedTimeout Instance = new();
    }

    private readonly string _entityId;
    private readonly string _routeId;
    private readonly string _backendId;
    private readonly ProxSnapshotStore _store;
    private readonly IHealthProber? _prober;
    private readonly IRecoveryRunner? _runner;
    private readonly ClusterBackendStats _stats;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly HashSet<IActorRef> _subscribers = new();
    private readonly string _owner;
    private readonly long _incarnation = Random.Shared.NextInt64(1, long.MaxValue);
    private IActorRef? _backend;
    private BackendMemory? _memory;
    private BackendCarry? _carry;
    private bool _seeding;
    private string? _fingerprint;
    private BackendAvailabilityChanged _state;
    private DateTimeOffset _changedAt = DateTimeOffset.UtcNow;
    private long _seq;
    private bool _subscribedSinceCheck = true;

    public BackendEntity(string entityId, ProxSnapshotStore store, IHealthProber? prober, IRecoveryRunner? runner, ClusterBackendStats stats)
    {
        _entityId = entityId;
        (_routeId, _backendId) = BackendKey.Parse(entityId) ?? (entityId, entityId);
        _store = store;
        _prober = prober;
        _runner = runner;
        _stats = stats;
        _owner = Akka.Cluster.Cluster.Get(Context.System).SelfAddress.ToString();
        _state = new BackendAvailabilityChanged(_backendId, true, null);
        Receive<BackendSubscribe>(OnSubscribe);
        Receive<BackendUnsubscribe>(_ => Unsubscribe(Sender));
        Receive<Terminated>(t => Unsubscribe(t.ActorRef));
        // translated here, so the BackendActor speaks only its own protocol and knows nothing of sharding
        Receive<OutcomeBatch>(b => _backend?.Forward(b.ToRecordOutcomes()));
        Receive<TrialOutcome>(t => _backend?.Forward(t.ToRequestOutcome()));
        Receive<BackendStatusQuery>(_ =>
        {
            if (_backend is null) Sender.Tell(new Status.Failure(new InvalidOperationException("backend not started on its owner yet")));
            else _backend.Forward(GetBackendStatus.Instance);
        });
        Receive<BackendAvailabilityChanged>(OnAvailability);
        Receive<CheckIdle>(_ => OnCheckIdle());
        Receive<BackendSeed>(seed => OnSeed(seed.Carry));
        Receive<SeedTimeout>(_ => OnSeed(null));
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(string entityId, ProxSnapshotStore store, IHealthProber? prober, IRecoveryRunner? runner, ClusterBackendStats stats) =>
        Akka.Actor.Props.Create(() => new BackendEntity(entityId, store, prober, runner, stats));

    protected override void PreStart()
    {
        _stats.EntityStarted(_entityId);
        Timers.StartPeriodicTimer("idle", CheckIdle.Instance, IdleCheck);
    }

    protected override void PostStop() => _stats.EntityStopped(_entityId);

    private void OnSubscribe(BackendSubscribe s)
    {
        _subscribedSinceCheck = true;
        if (_subscribers.Add(Sender)) Context.Watch(Sender);
        if (_backend is null)
        {
            // a new owner: first ask a subscriber what the previous owner knew (answered from then on by the backend's
            // first announcement, which goes to every subscriber)
            if (!_seeding && LocalConfig() is not null)
            {
                _seeding = true;
                Sender.Tell(new BackendSeedRequest(_entityId));
                Timers.StartSingleTimer("seed", SeedTimeout.Instance, SeedWait);
            }
            return;
        }
        if (s.Fingerprint != _fingerprint && LocalConfig() is { } local && local.Fingerprint == s.Fingerprint)
        {
            // the backend's config changed (and this node has the new version): a different backend, fresh state
            Context.Stop(_backend);
            _log.Info("Backend {BackendId} in {RouteId} changed: starting its actor afresh", _backendId, _routeId);
            StartBackend(local.Route, local.Backend, local.Fingerprint, carry: null);
        }
        Sender.Tell(Update(Sender));
    }

    private void OnSeed(BackendCarry? carry)
    {
        if (_backend is not null) return;
        _seeding = false;
        Timers.Cancel("seed");
        // this node lost the backend meanwhile (a newer config version): the next subscription asks again
        if (LocalConfig() is not { } local) return;
        StartBackend(local.Route, local.Backend, local.Fingerprint, carry?.Fingerprint == local.Fingerprint ? carry : null);
    }

    /// <summary>The backend's route and config as this node applied them, with their fingerprint; null while this node
    /// does not have the backend (a config version not applied here yet, or one that removed it).</summary>
    private (RouteConfig Route, BackendConfig Backend, string Fingerprint)? LocalConfig()
    {
        var route = _store.Applied?.Routes.FirstOrDefault(r => r.Id == _routeId);
        var backend = route?.Backends.FirstOrDefault(b => b.Id == _backendId);
        return route is null || backend is null ? null : (route, backend, BackendKey.Fingerprint(route, backend));
    }

    private void StartBackend(RouteConfig route, BackendConfig backend, string fingerprint, BackendCarry? carry)
    {
        _fingerprint = fingerprint;
        _memory = new BackendMemory(new BackendLive(_routeId, backend) { AttemptTimeout = BackendKey.AttemptTimeout(route, backend) });
        carry?.RestoreInto(_memory);
        // a unique name: a stopped predecessor's may not be free yet
        _backend = Context.ActorOf(BackendActor.Props(_memory, route.Passive, _prober, _runner), "backend-" + _seq++);
        _log.Info("Owning backend {BackendId} of route {RouteId} on this node ({How})", _backendId, _routeId,
            carry is null ? "fresh state" : $"state carried over: {(carry.Available ? "available" : "unavailable")}, {carry.Requests} requests");
    }

    private void OnAvailability(BackendAvailabilityChanged msg)
    {
        if (!Sender.Equals(_backend)) return; // from an actor replaced since
        _state = msg;
        _changedAt = DateTimeOffset.UtcNow;
        _carry = BackendCarry.Of(_fingerprint!, _memory!);
        _seq++;
        foreach (var s in _subscribers) s.Tell(Update(s));
    }

    private BackendStateUpdate Update(IActorRef subscriber)
    {
        // the trial permits are an object on this node: only subscribers here can take them; elsewhere half-open is "not yet"
        var local = subscriber.Path.Address.HasLocalScope;
        var halfOpen = _state.Trials is not null;
        return new BackendStateUpdate(_entityId, _owner, _incarnation, _seq, _state.Available && (local || !halfOpen),
            _state.EjectedUntil, _changedAt, _fingerprint ?? "")
        {
            Trials = local ? _state.Trials : null,
            Guarded = _state.Guarded,
            Carry = _carry,
        };
    }

    private void Unsubscribe(IActorRef subscriber)
    {
        if (_subscribers.Remove(subscriber)) Context.Unwatch(subscriber);
    }

    /// <summary>Nobody subscribed for a whole check period (the backend left every node's config): stop, through
    /// sharding, so messages in flight to the entity are not lost.</summary>
    private void OnCheckIdle()
    {
        if (_subscribers.Count > 0 || _subscribedSinceCheck)
        {
            _subscribedSinceCheck = false;
            return;
        }
        _log.Info("Backend {BackendId} of route {RouteId} has no subscriber left: passivating", _backendId, _routeId);
        Context.Parent.Tell(new Passivate(PoisonPill.Instance));
    }
}
