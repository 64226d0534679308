using System.Collections.Immutable;
using Akka.Actor;
using Akka.Event;
using Prox.Actors.Breaker;
using Prox.Actors.Config;
using Prox.Actors.Events;
using Prox.Actors.Health;
using Prox.Actors.Recovery;
using Prox.Actors.Supervision;
using Prox.Actors.Timing;

namespace Prox.Actors.Backends;

/// <summary>
/// Owns one backend's state: request and failure counters, latency statistics, its guard against a failing backend
/// (a circuit breaker when configured, passive ejection otherwise), active health checks and recovery actions (when
/// configured). Three pure trackers decide — <see cref="GuardTracker"/>, <see cref="HealthTracker"/> and
/// <see cref="RecoveryPolicy"/> — and return their new state with the events and timers it implies; this actor keeps
/// the state (in <see cref="BackendMemory"/>, so it survives a restart), applies those effects, and tells its parent
/// (the RouteActor) whenever the backend's availability changes: available = healthy by its checks, and neither
/// ejected nor behind an open breaker (half-open: available to the holders of a trial permit).
/// </summary>
public sealed class BackendActor : ReceiveActor, IWithTimers
{
    /// <summary>Added to the attempt timeout before a half-open breaker gives up on a trial's report.</summary>
    public static readonly TimeSpan TrialGrace = TimeSpan.FromSeconds(1);

    /// <summary>Percentiles cover the current and the previous window of this length.</summary>
    public static readonly TimeSpan LatencyWindow = TimeSpan.FromSeconds(30);

    private sealed record ReturnFromEjection
    {
        public static readonly ReturnFromEjection Instance = new();
    }

    private sealed record RotateLatencyWindow
    {
        public static readonly RotateLatencyWindow Instance = new();
    }

    private sealed record ProbeNow
    {
        public static readonly ProbeNow Instance = new();
    }

    private sealed record BreakerTimer
    {
        public static readonly BreakerTimer Instance = new();
    }

    private sealed record RecoveryDue
    {
        public static readonly RecoveryDue Instance = new();
    }

    private sealed record TrialDeadline(HalfOpenPermits Trials);

    /// <summary>A recovery action's result, tagged with its attempt so a late one cannot be taken for another's.</summary>
    private sealed record RecoveryActionCompleted(int Attempt, RecoveryActionResult Result);

    private readonly BackendMemory _m;
    private readonly BackendLive _live;
    private readonly GuardSettings _guardCfg;
    private readonly HealthConfig? _healthCfg;
    private readonly IHealthProber? _prober;
    private readonly RecoveryConfig? _recoveryCfg;
    private readonly IRecoveryRunner? _runner;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private HalfOpenPermits? _trials;
    private bool _probing;
    private (bool Available, bool Guarded, HalfOpenPermits? Trials)? _announced;

    public BackendActor(BackendMemory memory, PassiveConfig passive, IHealthProber? prober, IRecoveryRunner? runner = null)
    {
        _m = memory;
        _live = memory.Live;
        _guardCfg = new GuardSettings(passive, _live.Config.Breaker, _live.AttemptTimeout + TrialGrace);
        _prober = prober;
        _healthCfg = prober is null ? null : _live.Config.Health;
        _runner = runner;
        _recoveryCfg = runner is null ? null : _live.Config.Recovery;

        Receive<RequestOutcome>(OnOutcome);
        Receive<TallyDue>(_ => TallyDue.ScheduleFold(Timers));
        Receive<FoldTally>(_ => Fold());
        Receive<RecordOutcomes>(OnOutcomes);
        Receive<ReturnFromEjection>(_ => Apply(GuardTracker.OnReturnTimer(Guard, Now)));
        Receive<BreakerTimer>(_ => Apply(GuardTracker.OnBreakerTimer(Guard, Now, _guardCfg)));
        Receive<TrialDeadline>(d => Apply(GuardTracker.OnTrialDeadline(Guard, d.Trials, _guardCfg)));
        Receive<ProbeNow>(_ => StartProbe());
        Receive<ProbeOutcome>(OnProbeOutcome);
        Receive<RecoveryDue>(_ => ApplyRecovery(RecoveryPolicy.OnTimer(_m.Recovery, Now, _recoveryCfg!, Random.Shared.NextDouble())));
        Receive<RecoveryActionCompleted>(c => ApplyRecovery(RecoveryPolicy.OnActionResult(_m.Recovery, c.Attempt, c.Result, Now, _recoveryCfg!)));
        Receive<RotateLatencyWindow>(_ =>
        {
            Fold();
            _m.Latency.Rotate();
        });
        Receive<GetBackendStatus>(_ =>
        {
            Fold();
            Sender.Tell(BackendStatusView.Of(_m, Guard, Available, _guardCfg, _recoveryCfg, Now));
        });
        Receive<InjectFault>(f => throw new InjectedFaultException(f.Reason));
    }

    public ITimerScheduler Timers { get; set; } = null!;

    /// <param name="memory">The backend's state, kept across restarts: every incarnation created from these Props shares it.</param>
    /// <param name="prober">Runs active health checks when the backend's config has them; null = never probe.</param>
    /// <param name="runner">Runs the backend's recovery action when its config has one; null = never recover.</param>
    public static Props Props(BackendMemory memory, PassiveConfig passive, IHealthProber? prober = null, IRecoveryRunner? runner = null) =>
        Akka.Actor.Props.Create(() => new BackendActor(memory, passive, prober, runner));

    /// <summary>Props with fresh state for <paramref name="live"/>.</summary>
    public static Props Props(BackendLive live, PassiveConfig passive, IHealthProber? prober = null, IRecoveryRunner? runner = null) =>
        Props(new BackendMemory(live), passive, prober, runner);

    private DateTimeOffset Now => Context.System.Scheduler.Now;

    private GuardState Guard => new(_m.Passive, _m.Breaker, _trials);

    private bool Available => (_m.Health?.Healthy ?? true) && !Guard.Blocks;

    protected override void PreStart()
    {
        _live.Mailbox = Self;
        Timers.StartPeriodicTimer("rotate", RotateLatencyWindow.Instance, LatencyWindow);
        if (_healthCfg is not null)
        {
            _m.Health ??= HealthState.Initial(_healthCfg);
            Apply(HealthTracker.FirstProbe);
        }
        // a new incarnation re-arms the timers its predecessor's state needs
        ApplyState(GuardTracker.OnRestart(Guard, Now, _guardCfg));
        // and takes what the request path counted meanwhile (a fold due for its predecessor asks nobody else)
        Fold();
        if (_recoveryCfg is not null) ApplyRecovery(RecoveryPolicy.OnRestart(_m.Recovery, Now, _recoveryCfg));
        if (_m.Crashes.TakePending() is { } crash)
        {
            _log.Warning("Restarted the actor of {BackendId} in {RouteId} after {Exception}: {Message} (crash {Crashes})",
                _live.Id, _live.RouteId, crash.Exception, crash.Message, crash.Count);
            Raise(new EventToRaise(ProxEventKinds.ActorRestarted,
                $"backend actor restarted after {crash.Exception}: {crash.Message} (crash {crash.Count}, " +
                $"{(Now - crash.At).TotalSeconds:0.###} s backoff); state kept: {_m.Requests} requests, breaker {_m.Breaker.Mode}, " +
                $"{(_m.Health is { Healthy: false } ? "down" : "healthy")}"));
        }
        // tell the route where things stand: a restarted route or actor must not keep stale availability
        Announce(force: true);
    }

    protected override void PostRestart(Exception reason)
    {
        // restarted in place (a parent without backoff, e.g. in tests): same memory, same report
        _m.Crashes.Record(reason, Now);
        base.PostRestart(reason);
    }

    private void OnOutcome(RequestOutcome o)
    {
        // the answers counted before this outcome come first: a success between two failures breaks their streak
        if (o.AnsweredBefore >= 0) Fold(o.AnsweredBefore);
        _m.Requests++;
        if (o.Kind is OutcomeKind.Success or OutcomeKind.GatewayStatus)
        {
            // only answered requests say how fast the backend is; timeouts would just record the limit
            _m.Latency.Record(o.Latency);
            _live.EwmaMicros = _m.Latency.EwmaMicros;
        }
        if (o.IsBackendFailure) _m.Failures++;
        Apply(GuardTracker.OnOutcome(Guard, o, Now, _guardCfg));
    }

    /// <summary>
    /// Takes what the request path counted on the tally since the last fold: counters and latency now, and for the
    /// guard the answers up to <paramref name="upTo"/> (all of them unless a failure reported how many preceded it).
    /// </summary>
    private void Fold(long upTo = long.MaxValue)
    {
        var (_, news) = _m.FoldTally(upTo);
        if (news > 0) Apply(GuardTracker.OnAnswered(Guard, news, Now, _guardCfg));
    }

    /// <summary>Cluster mode: another node's outcomes, replayed in order as if each had been told on its own.</summary>
    private void OnOutcomes(RecordOutcomes batch)
    {
        foreach (var run in batch.Runs)
        {
            var latency = TimeSpan.FromMicroseconds(run.MeanLatencyMicros);
            switch (run.Kind)
            {
                // answers and departed clients, folded on the other node: taken whole, as a local fold would
                case OutcomeKind.Success:
                    _m.Requests += run.Count;
                    _m.Latency.Record(latency, run.Count);
                    _live.EwmaMicros = _m.Latency.EwmaMicros;
                    Apply(GuardTracker.OnAnswered(Guard, run.Count, Now, _guardCfg));
                    break;
                case OutcomeKind.ClientAbort:
                    _m.Requests += run.Count;
                    break;
                default:
                    var outcome = new RequestOutcome(run.Kind, run.Status, latency);
                    for (var i = 0; i < run.Count; i++) OnOutcome(outcome);
                    break;
            }
        }
    }

    private void StartProbe()
    {
        if (_probing || _healthCfg is null || _prober is null) return;
        _probing = true;
        // the prober never throws; its outcome comes back as a message, never touching fields from the task
        _prober.ProbeAsync(_live.Config.Url, _healthCfg, Now).PipeTo(Self);
    }

    private void OnProbeOutcome(ProbeOutcome outcome)
    {
        _probing = false;
        if (_m.Health is null || _healthCfg is null) return;
        var health = HealthTracker.OnProbe(_m.Health, outcome, _healthCfg, Random.Shared.NextDouble());
        _m.Health = health.State;
        _m.LastProbe = outcome.Result;
        Raise(FirstVerdict(health));
        // the probe says something about the guard too: a pass may end an ejection, and the breaker listens to it
        Apply(GuardTracker.OnHealthCheck(Guard, health.Ok, health.State.Healthy, health.What, Now, _guardCfg));
        Apply(health.NextProbe);
    }

    /// <summary>Marks the backend's first health verdict since start as <see cref="ProxEvent.Initial"/>: a backend-down
    /// before any check passed, or the first pass (an initial backend-up, which the Notifier compares with the state
    /// announced before a restart).</summary>
    private ImmutableArray<EventToRaise> FirstVerdict(HealthStep health)
    {
        if (_m.ProbePassed) return health.Events;
        _m.ProbePassed = health.Ok;
        var events = health.Events.Select(e => e.Kind == ProxEventKinds.BackendDown ? e with { Initial = true } : e).ToList();
        if (health.Ok && health.State.Healthy && events.All(e => e.Kind != ProxEventKinds.BackendUp))
            events.Add(new EventToRaise(ProxEventKinds.BackendUp, "first health check since start passed") { Initial = true });
        return [.. events];
    }

    /// <summary>Takes the guard's step: its state, events and timers, then tells the route if availability changed.</summary>
    private void Apply(GuardStep step)
    {
        ApplyState(step);
        Raise(step.Events);
        Announce();
    }

    private void ApplyState(GuardStep step)
    {
        (_m.Passive, _m.Breaker, _trials) = (step.State.Passive, step.State.Breaker, step.State.Trials);
        foreach (var t in step.Timers) Apply(t);
    }

    private void ApplyRecovery(RecoveryStep step)
    {
        _m.Recovery = step.State;
        Raise(step.Events);
        if (step.RunAction && _recoveryCfg is not null && _runner is not null && _m.Recovery.Pending is { } p)
        {
            var attempt = p.Number;
            // the runner never throws; a faulted task still becomes a failed attempt, never a stuck one
            _runner.RunAsync(_recoveryCfg, CancellationToken.None).PipeTo(Self,
                success: r => new RecoveryActionCompleted(attempt, r),
                failure: ex => new RecoveryActionCompleted(attempt, new RecoveryActionResult(false, $"runner error: {ex.Message}", TimeSpan.Zero)));
        }
        Apply(RecoveryPolicy.Timer(_m.Recovery, Now));
    }

    /// <summary>Starts or cancels a tracker's timer, with this actor's tick for its key.</summary>
    private void Apply(TimerChange t)
    {
        if (t.Delay is not { } delay)
        {
            Timers.Cancel(t.Key);
            return;
        }
        object tick = t.Key switch
        {
            GuardTracker.ReturnTimer => ReturnFromEjection.Instance,
            GuardTracker.BreakerTimer => BreakerTimer.Instance,
            GuardTracker.TrialTimer => new TrialDeadline(_trials!),
            HealthTracker.ProbeTimer => ProbeNow.Instance,
            RecoveryPolicy.TimerKey => RecoveryDue.Instance,
            _ => throw new InvalidOperationException($"no tick for timer '{t.Key}'"),
        };
        Timers.StartSingleTimer(t.Key, tick, delay);
    }

    /// <summary>Tells the route when availability or the trial permits changed (or always, when forced).</summary>
    private void Announce(bool force = false)
    {
        var available = Available;
        var trials = available ? _trials : null;
        // out only by its guard: a route in panic may still send it traffic, so the route must hear the difference
        var guarded = !available && (_m.Health?.Healthy ?? true);
        if (!force && _announced is { } last && last.Available == available && last.Guarded == guarded
            && ReferenceEquals(last.Trials, trials)) return;
        _announced = (available, guarded, trials);
        _m.LastAvailable = available;
        Context.Parent.Tell(new BackendAvailabilityChanged(_live.Id, available, available ? null : Guard.BlockedUntil)
            { Trials = trials, Guarded = guarded });
        if (_recoveryCfg is not null) ApplyRecovery(RecoveryPolicy.OnAvailability(_m.Recovery, available, Now, _recoveryCfg));
    }

    private void Raise(ImmutableArray<EventToRaise> events)
    {
        foreach (var e in events)
        {
            // good news is information; everything else is a reason to look; a first check passing is neither
            if (e is { Initial: true, Kind: ProxEventKinds.BackendUp })
                _log.Debug("First health check of {BackendId} in {RouteId} passed", _live.Id, _live.RouteId);
            else if (e.Kind is ProxEventKinds.BackendReturned or ProxEventKinds.BackendUp or ProxEventKinds.BreakerHalfOpen
                or ProxEventKinds.BreakerClosed or ProxEventKinds.RecoverySucceeded)
                _log.Info("{EventKind} for {BackendId} in {RouteId}: {Detail}", e.Kind, _live.Id, _live.RouteId, e.Detail);
            else
                _log.Warning("{EventKind} for {BackendId} in {RouteId}: {Detail}", e.Kind, _live.Id, _live.RouteId, e.Detail);
            Raise(e);
        }
    }

    private void Raise(EventToRaise e) =>
        Context.System.EventStream.Publish(ProxEvent.Create(Now, e.Kind, _live.RouteId, _live.Id, e.Detail) with { Initial = e.Initial });
}
