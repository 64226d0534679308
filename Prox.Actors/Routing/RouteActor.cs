using System.Collections.Immutable;
using System.Text;
using Akka.Actor;
using Akka.Event;
using Prox.Actors.Backends;
using Prox.Actors.Config;
using Prox.Actors.Events;
using Prox.Actors.Health;
using Prox.Actors.Recovery;
using Prox.Actors.Selection;

namespace Prox.Actors.Routing;

/// <summary>
/// Owns one route: creates a BackendActor per backend, tracks which are available, and is the only
/// writer of the route's <see cref="RouteSnapshot"/>, republished whenever availability changes. Applies a
/// changed route config in place (<see cref="UpdateRoute"/>): kept backends keep their actors and state, new
/// ones start, removed ones drain — out of the snapshot at once, stopped once their in-flight requests are done.
/// </summary>
public sealed class RouteActor : ReceiveActor, IWithTimers
{
    private static readonly TimeSpan StatusTimeout = TimeSpan.FromSeconds(3);

    /// <summary>How often draining backends are checked for in-flight requests.</summary>
    public static readonly TimeSpan DrainCheck = TimeSpan.FromMilliseconds(100);

    private sealed record CheckDrains
    {
        public static readonly CheckDrains Instance = new();
    }

    private RouteConfig _cfg;
    private readonly List<Draining> _draining = new();
    private readonly Dictionary<string, int> _generations = new();
    private DateTimeOffset? _routeDrainDeadline;
    private readonly RouteSlot _slot;
    private readonly IHealthProber? _prober;
    private readonly IRecoveryRunner? _runner;
    private readonly IBackendActors _backends;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly List<Member> _members = new();
    private long _version;

    // what the last snapshot holds: the backends requests may use, and whether the panic threshold put them there
    private int _eligible;
    private bool _panic;

    // dedup: the leader in flight per key (principle 2: the actor decides who leads)
    private readonly Dictionary<string, Coalescer> _inFlight = new(StringComparer.Ordinal);

    public RouteActor(RouteConfig cfg, RouteSlot slot, IHealthProber? prober, IRecoveryRunner? runner = null, IBackendActors? backends = null)
    {
        _backends = backends ?? LocalBackendActors.Instance;
        // a restarted route actor applies the config its predecessor last applied, not the one it was created with
        _cfg = slot.Config ?? cfg;
        _slot = slot;
        _prober = prober;
        _runner = runner;
        Receive<BackendAvailabilityChanged>(OnAvailabilityChanged);
        Receive<GetRouteStatus>(_ => ReplyStatus());
        Receive<Supervision.InjectFault>(f => throw new Supervision.InjectedFaultException(f.Reason));
        Receive<Supervision.CrashActor>(OnCrash);
        Receive<UpdateRoute>(OnUpdate);
        Receive<DrainRoute>(OnDrainRoute);
        Receive<CheckDrains>(_ => OnCheckDrains());
        Receive<JoinOrLead>(OnJoinOrLead);
        Receive<LeaderDone>(OnLeaderDone);
        Receive<FollowerWentOwnWay>(_ => _slot.Dedup.OwnWay++);
    }

    public ITimerScheduler Timers { get; set; } = null!;

    /// <param name="prober">Runs the backends' active health checks; null = passive health only.</param>
    /// <param name="runner">Runs the backends' recovery actions; null = none.</param>
    /// <param name="backends">Resolves the actor for each backend: standalone (the default) a child BackendActor,
    /// cluster mode a link to the backend's sharded entity.</param>
    public static Props Props(RouteConfig cfg, RouteSlot slot, IHealthProber? prober = null, IRecoveryRunner? runner = null,
        IBackendActors? backends = null) =>
        Akka.Actor.Props.Create(() => new RouteActor(cfg, slot, prober, runner, backends));

    protected override void PreStart()
    {
        _slot.Config = _cfg;
        foreach (var b in _cfg.Backends)
            _members.Add(StartBackend(b, fresh: false));
        Publish();
        if (_slot.Crashes.TakePending() is { } crash)
        {
            _log.Warning("Restarted the actor of route {RouteId} after {Exception}: {Message} (crash {Crashes})",
                _cfg.Id, crash.Exception, crash.Message, crash.Count);
            Raise(ProxEventKinds.ActorRestarted,
                $"route actor restarted after {crash.Exception}: {crash.Message} (crash {crash.Count}, " +
                $"{(Context.System.Scheduler.Now - crash.At).TotalSeconds:0.###} s backoff); backends kept their state");
        }
    }

    /// <summary>Starts a backend's actor (under a backoff supervisor) on its kept state, or on fresh state.</summary>
    private Member StartBackend(BackendConfig b, bool fresh)
    {
        var scheduler = Context.System.Scheduler;
        // the slot keeps each backend's state, so a restarted route (or backend actor) carries on from it
        var attempt = b.Timeout ?? _cfg.Timeouts.Request;
        var memory = fresh ? _slot.ResetMemory(b, attempt) : _slot.MemoryFor(b, attempt);
        // a backend replaced by a reload may still be draining under its old name
        var generation = _generations.TryGetValue(b.Id, out var g) ? g + 1 : 1;
        _generations[b.Id] = generation;
        var name = generation == 1 ? ActorName(b.Id) : $"{ActorName(b.Id)}@{generation}";
        var supervisor = Context.ActorOf(
            Supervision.Restarts.WithBackoff(_backends.For(_cfg, memory, _prober, _runner), name,
                ex => memory.Crashes.Record(ex, scheduler.Now)),
            name);
        // outcomes go to the supervisor (which forwards) until the backend actor has started and says where it is
        memory.Live.OfferMailbox(supervisor);
        return new Member(new BackendEntry(memory.Live, b.Weight, supervisor), memory) { Available = memory.LastAvailable, Drain = b.Drain };
    }

    // ---- request coalescing ----

    private void OnJoinOrLead(JoinOrLead msg)
    {
        if (_cfg.Dedup is not { Enabled: true } dedup)
        {
            Sender.Tell(CoalesceDecision.NotCoalesced);
            return;
        }
        var now = Context.System.Scheduler.Now;
        // an entry older than the window has no follower left waiting: lead afresh rather than queue behind it
        if (_inFlight.TryGetValue(msg.Key, out var entry) && !entry.IsDone && now - entry.Started < dedup.Window)
        {
            entry.AddFollower();
            _slot.Dedup.Followers++;
            Sender.Tell(new CoalesceDecision(entry, Leads: false));
            return;
        }
        entry = new Coalescer(msg.Key, now);
        _inFlight[msg.Key] = entry;
        _slot.Dedup.Leaders++;
        Sender.Tell(new CoalesceDecision(entry, Leads: true));
    }

    private void OnLeaderDone(LeaderDone msg)
    {
        // a stale entry may have been replaced by a newer leader for the same key: remove only our own
        if (_inFlight.TryGetValue(msg.Entry.Key, out var entry) && ReferenceEquals(entry, msg.Entry))
            _inFlight.Remove(msg.Entry.Key);
    }

    // ---- reload: apply a changed route config in place ----

    private void OnUpdate(UpdateRoute msg)
    {
        var old = _cfg;
        var cfg = msg.Config;
        var before = _members.ToDictionary(m => m.Entry.Id);
        var members = new List<Member>();
        int added = 0, replaced = 0, reweighted = 0;
        _cfg = cfg;
        _slot.Config = cfg;
        foreach (var b in cfg.Backends)
        {
            if (before.Remove(b.Id, out var m))
            {
                if (SameBackend(m.Entry.Live.Config, b) && SameBackendSettings(old, cfg))
                {
                    if (m.Entry.Weight != b.Weight)
                    {
                        m.Entry = m.Entry with { Weight = b.Weight };
                        reweighted++;
                    }
                    m.Drain = b.Drain;
                    members.Add(m);
                    continue;
                }
                // url, timeout, health, breaker or recovery changed: a new backend with fresh state
                StartDrain(m, msg.DrainTimeout);
                replaced++;
                members.Add(StartBackend(b, fresh: true));
                continue;
            }
            added++;
            members.Add(StartBackend(b, fresh: false));
        }
        foreach (var gone in before.Values)
            StartDrain(gone, msg.DrainTimeout);
        _members.Clear();
        _members.AddRange(members);
        Publish();
        _log.Info("Route {RouteId} updated: {Added} added, {Removed} removed, {Replaced} replaced, {Reweighted} reweighted",
            cfg.Id, added, before.Count, replaced, reweighted);
        Sender.Tell(new RouteUpdated(cfg.Id, added, before.Count, replaced, reweighted));
    }

    /// <summary>Same backend for a reload: everything but the weight and drain flag, which change in place.</summary>
    private static bool SameBackend(BackendConfig a, BackendConfig b) => ConfigComparer.Same(a with { Weight = b.Weight, Drain = b.Drain }, b);

    /// <summary>Route settings baked into each backend's actor (passive ejection) are unchanged. The panic threshold
    /// is the route's own decision, applied at the next publish: changing it keeps the backends' state.</summary>
    private static bool SameBackendSettings(RouteConfig a, RouteConfig b) =>
        ConfigComparer.Same(a.Passive with { PanicThreshold = 0 }, b.Passive with { PanicThreshold = 0 });

    private void OnDrainRoute(DrainRoute msg)
    {
        _routeDrainDeadline = Context.System.Scheduler.Now + msg.DrainTimeout;
        foreach (var m in _members) StartDrain(m, msg.DrainTimeout);
        _members.Clear();
        OnCheckDrains();
    }

    private void StartDrain(Member m, TimeSpan timeout)
    {
        _draining.Add(new Draining(m, Context.System.Scheduler.Now + timeout));
        if (!Timers.IsTimerActive("drain"))
            Timers.StartPeriodicTimer("drain", CheckDrains.Instance, DrainCheck);
    }

    /// <summary>Stops drained backends: no request in flight any more, or the drain time is up. Requests still
    /// streaming then are not cut (the actor only hears their outcome); they just go unreported.</summary>
    private void OnCheckDrains()
    {
        var now = Context.System.Scheduler.Now;
        for (var i = _draining.Count - 1; i >= 0; i--)
        {
            var d = _draining[i];
            if (d.Member.Entry.Live.InFlight > 0 && now < d.Deadline) continue;
            Context.Stop(d.Member.Entry.Actor);
            _slot.ForgetMemory(d.Member.Entry.Id, d.Member.Memory);
            _draining.RemoveAt(i);
        }
        if (_draining.Count > 0) return;
        Timers.Cancel("drain");
        if (_routeDrainDeadline is not null)
            Context.Parent.Tell(new RouteDrained(_cfg.Id));
    }

    private void OnAvailabilityChanged(BackendAvailabilityChanged msg)
    {
        // by sender (the backend's supervisor), not id: a replaced backend may still be draining under the same id
        var m = _members.Find(x => x.Entry.Actor.Equals(Sender));
        if (m is null || (m.Available == msg.Available && m.Guarded == msg.Guarded && m.EjectedUntil == msg.EjectedUntil
                          && ReferenceEquals(m.Entry.Trials, msg.Trials)))
            return;
        var before = _eligible;
        m.Available = msg.Available;
        m.Guarded = msg.Guarded;
        m.EjectedUntil = msg.EjectedUntil;
        if (!ReferenceEquals(m.Entry.Trials, msg.Trials))
            m.Entry = m.Entry with { Trials = msg.Trials };
        Publish();
        if (_eligible == 0 && before > 0)
        {
            _log.Warning("Route {RouteId} has no available backend", _cfg.Id);
            Raise(ProxEventKinds.PoolDown, $"no eligible backend among {_members.Count}; requests get 503");
        }
        else if (_eligible > 0 && before == 0)
        {
            Raise(ProxEventKinds.PoolUp, $"{_eligible} of {_members.Count} backends eligible again");
        }
    }

    protected override void PostRestart(Exception reason)
    {
        // restarted in place (a parent without backoff, e.g. in tests): report like a backoff restart
        _slot.Crashes.Record(reason, Context.System.Scheduler.Now);
        base.PostRestart(reason);
    }

    private void Raise(string kind, string detail) =>
        Context.System.EventStream.Publish(ProxEvent.Create(Context.System.Scheduler.Now, kind, _cfg.Id, null, detail));

    private void Publish()
    {
        var serving = _members.Count(m => !m.Drain);
        var nominal = _members.Count(m => m.Eligible);
        var guarded = _members.Count(m => !m.Drain && !m.Available && m.Guarded);
        var panic = PanicThreshold.Applies(serving, nominal, guarded, _cfg.Passive.PanicThreshold);
        var eligible = _members.Where(m => m.Eligible || (panic && !m.Drain && m.Guarded)).Select(m => m.Entry).ToImmutableArray();
        var nextReturn = _members.Where(m => !m.Available && m.EjectedUntil is not null)
            .Select(m => m.EjectedUntil).Min();
        var snapshot = new RouteSnapshot(_cfg, Self, eligible,
            BackendSelectors.Create(_cfg.LoadBalancing, eligible), nextReturn, ++_version);
        _slot.Publish(snapshot);
        _eligible = eligible.Length;
        Context.Parent.Tell(new RouteSnapshotPublished(_cfg.Id, _version));
        if (panic == _panic) return;
        _panic = panic;
        if (panic)
        {
            _log.Warning("Route {RouteId} in panic: {Eligible} of {Backends} backends eligible, below {Threshold:P0}; balancing over all {Serving} not reported down",
                _cfg.Id, nominal, serving, _cfg.Passive.PanicThreshold, eligible.Length);
            Raise(ProxEventKinds.RoutePanic, $"{nominal} of {serving} backends eligible, below the panic threshold of " +
                $"{_cfg.Passive.PanicThreshold:P0}; balancing over the {eligible.Length} not reported down, ejected or not");
        }
        else
        {
            _log.Info("Route {RouteId} out of panic: {Eligible} of {Backends} backends eligible", _cfg.Id, nominal, serving);
            Raise(ProxEventKinds.RoutePanicOver, $"{nominal} of {serving} backends eligible; ejections and open breakers apply again");
        }
    }

    private void OnCrash(Supervision.CrashActor msg)
    {
        if (msg.BackendId is null)
        {
            Sender.Tell(new Supervision.CrashActorReply(true, $"crashing route actor '{_cfg.Id}'"));
            throw new Supervision.InjectedFaultException("admin chaos drill");
        }
        var m = _members.Find(x => x.Entry.Id == msg.BackendId);
        if (m is null)
        {
            Sender.Tell(new Supervision.CrashActorReply(false, $"no backend '{msg.BackendId}' in route '{_cfg.Id}'"));
            return;
        }
        Sender.Tell(new Supervision.CrashActorReply(true, $"crashing backend actor '{msg.BackendId}' in route '{_cfg.Id}'"));
        m.Entry.Actor.Tell(new Supervision.InjectFault("admin chaos drill"));
    }

    private void ReplyStatus()
    {
        var eligible = _eligible;
        var panic = _panic;
        var version = _version;
        var cfg = _cfg;
        var c = _slot.Dedup;
        DedupStatus? dedup = cfg.Dedup is { Enabled: true } || c.Leaders > 0
            ? new DedupStatus(c.Leaders, c.Followers, c.OwnWay, _inFlight.Count)
            : null;
        var members = _members.Select(m => (m.Entry, m.Available, m.Drain)).ToArray();
        Gather.AskAll<BackendStatus>(members.Select(m => m.Entry.Actor), GetBackendStatus.Instance, StatusTimeout, Sender,
            backends => new RouteStatus(cfg.Id, cfg.LoadBalancing.Name(), cfg.Match.PathPrefix,
                cfg.Match.Hosts.IsDefault ? [] : cfg.Match.Hosts, eligible, version,
                // the weight in force is the route's (a reload changes it in place), not the one the actor started with
                [.. backends.Select((b, i) => members[i].Drain
                    ? b with { Weight = members[i].Entry.Weight, State = "draining", Healthy = false }
                    : b with { Weight = members[i].Entry.Weight })]) { Dedup = dedup, Panic = panic },
            // a backend actor waiting out its restart backoff cannot answer: say so rather than fail the whole status
            i => Restarting(members[i].Entry, members[i].Available));
    }

    private static BackendStatus Restarting(BackendEntry e, bool available) => new(
        e.Id, e.Live.Config.Url.ToString(), e.Weight, available, "restarting", null, e.Live.InFlight,
        0, 0, 0, 0, new Backends.LatencySummary(0, 0, 0, Math.Round(e.Live.EwmaMicros / 1000.0, 3)));

    /// <summary>Actor names allow a limited alphabet; backend ids are host:port or user text.</summary>
    internal static string ActorName(string backendId)
    {
        var sb = new StringBuilder("backend-");
        foreach (var c in backendId)
            sb.Append(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or ':' ? c : '_');
        return sb.ToString();
    }

    private sealed record Draining(Member Member, DateTimeOffset Deadline);

    private sealed class Member(BackendEntry entry, BackendMemory memory)
    {
        public BackendMemory Memory { get; } = memory;
        public BackendEntry Entry { get; set; } = entry;
        public bool Available { get; set; } = true;

        /// <summary>Administratively drained (config <c>drain = true</c>): kept, but no new requests.</summary>
        public bool Drain { get; set; }

        public bool Eligible => Available && !Drain;

        /// <summary>Unavailable only because of its guard (ejected, breaker open): a route in panic still uses it.</summary>
        public bool Guarded { get; set; }
        public DateTimeOffset? EjectedUntil { get; set; }
    }
}
