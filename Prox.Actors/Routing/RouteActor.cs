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
/// writer of the route's <see cref="RouteSnapshot"/>, republished whenever availability changes.
/// </summary>
public sealed class RouteActor : ReceiveActor
{
    private static readonly TimeSpan StatusTimeout = TimeSpan.FromSeconds(3);

    private readonly RouteConfig _cfg;
    private readonly RouteSlot _slot;
    private readonly IHealthProber? _prober;
    private readonly IRecoveryRunner? _runner;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly List<Member> _members = new();
    private long _version;

    public RouteActor(RouteConfig cfg, RouteSlot slot, IHealthProber? prober, IRecoveryRunner? runner = null)
    {
        _cfg = cfg;
        _slot = slot;
        _prober = prober;
        _runner = runner;
        Receive<BackendAvailabilityChanged>(OnAvailabilityChanged);
        Receive<GetRouteStatus>(_ => ReplyStatus());
        Receive<Supervision.InjectFault>(f => throw new Supervision.InjectedFaultException(f.Reason));
        Receive<Supervision.CrashActor>(OnCrash);
    }

    /// <param name="prober">Runs the backends' active health checks; null = passive health only.</param>
    /// <param name="runner">Runs the backends' recovery actions; null = none.</param>
    public static Props Props(RouteConfig cfg, RouteSlot slot, IHealthProber? prober = null, IRecoveryRunner? runner = null) =>
        Akka.Actor.Props.Create(() => new RouteActor(cfg, slot, prober, runner));

    protected override void PreStart()
    {
        var scheduler = Context.System.Scheduler;
        foreach (var b in _cfg.Backends)
        {
            // the slot keeps each backend's state, so a restarted route (or backend actor) carries on from it
            var memory = _slot.MemoryFor(b, b.Timeout ?? _cfg.Timeouts.Request);
            var name = ActorName(b.Id);
            var supervisor = Context.ActorOf(
                Supervision.Restarts.WithBackoff(BackendActor.Props(memory, _cfg.Passive, _prober, _runner), name,
                    ex => memory.RecordCrash(ex, scheduler.Now)),
                name);
            // outcomes go to the supervisor (which forwards) until the backend actor has started and says where it is
            memory.Live.OfferMailbox(supervisor);
            _members.Add(new Member(new BackendEntry(memory.Live, b.Weight, supervisor)) { Available = memory.LastAvailable });
        }
        Publish();
        if (_slot.TakePendingCrash() is { } crash)
        {
            _log.Warning("Restarted the actor of route {RouteId} after {Exception}: {Message} (crash {Crashes})",
                _cfg.Id, crash.Exception, crash.Message, crash.Count);
            Raise(ProxEventKinds.ActorRestarted,
                $"route actor restarted after {crash.Exception}: {crash.Message} (crash {crash.Count}, " +
                $"{(Context.System.Scheduler.Now - crash.At).TotalSeconds:0.###} s backoff); backends kept their state");
        }
    }

    private void OnAvailabilityChanged(BackendAvailabilityChanged msg)
    {
        var m = _members.Find(x => x.Entry.Id == msg.BackendId);
        if (m is null || (m.Available == msg.Available && m.EjectedUntil == msg.EjectedUntil && ReferenceEquals(m.Entry.Trials, msg.Trials)))
            return;
        var before = _members.Count(x => x.Available);
        m.Available = msg.Available;
        m.EjectedUntil = msg.EjectedUntil;
        if (!ReferenceEquals(m.Entry.Trials, msg.Trials))
            m.Entry = m.Entry with { Trials = msg.Trials };
        Publish();
        var eligible = _members.Count(x => x.Available);
        if (eligible == 0 && before > 0)
        {
            _log.Warning("Route {RouteId} has no available backend", _cfg.Id);
            Raise(ProxEventKinds.PoolDown, $"no eligible backend among {_members.Count}; requests get 503");
        }
        else if (eligible > 0 && before == 0)
        {
            Raise(ProxEventKinds.PoolUp, $"{eligible} of {_members.Count} backends eligible again");
        }
    }

    protected override void PostRestart(Exception reason)
    {
        // restarted in place (a parent without backoff, e.g. in tests): report like a backoff restart
        _slot.RecordCrash(reason, Context.System.Scheduler.Now);
        base.PostRestart(reason);
    }

    private void Raise(string kind, string detail) =>
        Context.System.EventStream.Publish(ProxEvent.Create(Context.System.Scheduler.Now, kind, _cfg.Id, null, detail));

    private void Publish()
    {
        var eligible = _members.Where(m => m.Available).Select(m => m.Entry).ToImmutableArray();
        var nextReturn = _members.Where(m => !m.Available && m.EjectedUntil is not null)
            .Select(m => m.EjectedUntil).Min();
        var snapshot = new RouteSnapshot(_cfg, Self, eligible,
            BackendSelectors.Create(_cfg.LoadBalancing, eligible), nextReturn, ++_version);
        _slot.Publish(snapshot);
        Context.Parent.Tell(new RouteSnapshotPublished(_cfg.Id, _version));
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
        var eligible = _members.Count(m => m.Available);
        var version = _version;
        var cfg = _cfg;
        var members = _members.Select(m => (m.Entry, m.Available)).ToArray();
        Gather.AskAll<BackendStatus>(members.Select(m => m.Entry.Actor), GetBackendStatus.Instance, StatusTimeout, Sender,
            backends => new RouteStatus(cfg.Id, cfg.LoadBalancing.Name(), cfg.Match.PathPrefix,
                cfg.Match.Hosts.IsDefault ? [] : cfg.Match.Hosts, eligible, version, [.. backends]),
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

    private sealed class Member(BackendEntry entry)
    {
        public BackendEntry Entry { get; set; } = entry;
        public bool Available { get; set; } = true;
        public DateTimeOffset? EjectedUntil { get; set; }
    }
}
