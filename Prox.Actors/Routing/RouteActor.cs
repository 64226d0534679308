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
        foreach (var b in _cfg.Backends)
        {
            var live = new BackendLive(_cfg.Id, b);
            var actor = Context.ActorOf(BackendActor.Props(live, _cfg.Passive, _prober, _runner), ActorName(b.Id));
            _members.Add(new Member(new BackendEntry(live, b.Weight, actor)));
        }
        Publish();
    }

    private void OnAvailabilityChanged(BackendAvailabilityChanged msg)
    {
        var m = _members.Find(x => x.Entry.Id == msg.BackendId);
        if (m is null || (m.Available == msg.Available && m.EjectedUntil == msg.EjectedUntil)) return;
        var before = _members.Count(x => x.Available);
        m.Available = msg.Available;
        m.EjectedUntil = msg.EjectedUntil;
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
        base.PostRestart(reason);
        Raise(ProxEventKinds.ActorRestarted, $"route actor restarted after {reason.GetType().Name}: {reason.Message}");
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
        Gather.AskAll<BackendStatus>(_members.Select(m => m.Entry.Actor), GetBackendStatus.Instance, StatusTimeout, Sender,
            backends => new RouteStatus(cfg.Id, cfg.LoadBalancing.Name(), cfg.Match.PathPrefix,
                cfg.Match.Hosts.IsDefault ? [] : cfg.Match.Hosts, eligible, version, [.. backends]));
    }

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
        public BackendEntry Entry { get; } = entry;
        public bool Available { get; set; } = true;
        public DateTimeOffset? EjectedUntil { get; set; }
    }
}
