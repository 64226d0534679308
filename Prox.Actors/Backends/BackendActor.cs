using Akka.Actor;
using Akka.Event;
using Prox.Actors.Breaker;
using Prox.Actors.Config;
using Prox.Actors.Events;
using Prox.Actors.Health;

namespace Prox.Actors.Backends;

/// <summary>
/// Owns one backend's state: request and failure counters, latency statistics, and its guard against a failing
/// backend — a circuit breaker when configured, passive ejection otherwise — and (when configured) active health
/// checks. Learns about traffic from <see cref="RequestOutcome"/> messages, probes on its own timer, and tells its
/// parent (the RouteActor) whenever the backend's availability changes: available = healthy by its checks, and
/// neither ejected nor behind an open breaker (half-open: available to the holders of a trial permit).
/// </summary>
public sealed class BackendActor : ReceiveActor, IWithTimers
{
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

    private sealed record TrialDeadline(HalfOpenPermits Trials);

    /// <summary>Added to the attempt timeout before a half-open breaker gives up on a trial's report.</summary>
    public static readonly TimeSpan TrialGrace = TimeSpan.FromSeconds(1);

    /// <summary>Percentiles cover the current and the previous window of this length.</summary>
    public static readonly TimeSpan LatencyWindow = TimeSpan.FromSeconds(30);

    private readonly BackendLive _live;
    private readonly PassiveConfig _passive;
    private readonly HealthConfig? _healthCfg;
    private readonly BreakerConfig? _breakerCfg;
    private readonly IHealthProber? _prober;
    private readonly LatencyStats _latency = new();
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private PassiveState _state = PassiveState.Initial;
    private BreakerState _breaker = BreakerState.Initial;
    private HalfOpenPermits? _trials;
    private HealthState? _health;
    private ProbeResult? _lastProbe;
    private bool _probing;
    private (bool Available, HalfOpenPermits? Trials)? _announced;
    private long _requests;
    private long _failures;

    public BackendActor(BackendLive live, PassiveConfig passive, IHealthProber? prober)
    {
        _live = live;
        _passive = passive;
        _prober = prober;
        _healthCfg = prober is null ? null : live.Config.Health;
        _breakerCfg = live.Config.Breaker;
        Receive<RequestOutcome>(OnOutcome);
        Receive<ReturnFromEjection>(_ => OnReturn());
        Receive<RotateLatencyWindow>(_ => _latency.Rotate());
        Receive<ProbeNow>(_ => StartProbe());
        Receive<ProbeOutcome>(OnProbeOutcome);
        Receive<BreakerTimer>(_ => OnBreakerTimer());
        Receive<TrialDeadline>(OnTrialDeadline);
        Receive<GetBackendStatus>(_ => Sender.Tell(Status()));
        Receive<Supervision.InjectFault>(f => throw new Supervision.InjectedFaultException(f.Reason));
    }

    public ITimerScheduler Timers { get; set; } = null!;

    /// <param name="prober">Runs active health checks when the backend's config has them; null = never probe.</param>
    public static Props Props(BackendLive live, PassiveConfig passive, IHealthProber? prober = null) =>
        Akka.Actor.Props.Create(() => new BackendActor(live, passive, prober));

    protected override void PreStart()
    {
        Timers.StartPeriodicTimer("rotate", RotateLatencyWindow.Instance, LatencyWindow);
        if (_healthCfg is not null)
        {
            _health = HealthState.Initial(_healthCfg);
            Timers.StartSingleTimer("probe", ProbeNow.Instance, TimeSpan.FromMilliseconds(1));
        }
        // a (re)started actor starts with fresh state: make sure the route does not keep it out of rotation
        Announce(force: true);
    }

    protected override void PostRestart(Exception reason)
    {
        base.PostRestart(reason); // runs PreStart: timers, probes, and the availability announcement
        Raise(ProxEventKinds.ActorRestarted, $"backend actor restarted after {reason.GetType().Name}: {reason.Message}");
    }

    private DateTimeOffset Now => Context.System.Scheduler.Now;

    private bool Available => (_health?.Healthy ?? true) && !_state.IsEjected && _breaker.Mode != BreakerMode.Open;

    private void OnOutcome(RequestOutcome o)
    {
        _requests++;
        if (o.Kind is OutcomeKind.Success or OutcomeKind.GatewayStatus)
        {
            // only answered requests say how fast the backend is; timeouts would just record the limit
            _latency.Record(o.Latency);
            _live.EwmaMicros = _latency.EwmaMicros;
        }

        // a client that left says nothing about the backend (a trial it held is recovered by the trial deadline)
        if (o.Kind == OutcomeKind.ClientAbort) return;
        if (_breakerCfg is not null)
        {
            if (o.IsBackendFailure) _failures++;
            OnBreakerResult(o, _breakerCfg);
            return;
        }

        var before = _state;
        if (o.IsBackendFailure)
        {
            _failures++;
            _state = PassiveEjection.OnFailure(_state, Now, _passive);
        }
        else
        {
            _state = PassiveEjection.OnSuccess(_state);
        }

        if (!before.IsEjected && _state.EjectedUntil is { } until)
        {
            _log.Warning("Ejected {BackendId} in {RouteId} until {EjectedUntil} after {Failures} consecutive failures (last: {Outcome})",
                _live.Id, _live.RouteId, until, _state.ConsecutiveFailures, o.Kind);
            Timers.StartSingleTimer("return", ReturnFromEjection.Instance, until - Now);
            // the backend's own event first: the route's pool-down, which follows from it, must come after
            Raise(ProxEventKinds.BackendEjected,
                $"{_state.ConsecutiveFailures} consecutive failures (last: {o.Kind}); ejected until {until:O} (ejection {_state.Ejections})");
            Announce();
        }
    }

    private void OnReturn()
    {
        var before = _state;
        _state = PassiveEjection.OnTimer(_state, Now);
        if (before.IsEjected && !_state.IsEjected)
        {
            _log.Info("Returned {BackendId} in {RouteId} to rotation on probation", _live.Id, _live.RouteId);
            Raise(ProxEventKinds.BackendReturned, "ejection time over; back in rotation on probation");
            Announce();
        }
        else if (_state.EjectedUntil is { } until)
        {
            // the scheduler fired early by a tick: wait out the rest
            Timers.StartSingleTimer("return", ReturnFromEjection.Instance, until - Now);
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
        if (_health is null || _healthCfg is null) return;
        var cfg = _healthCfg;
        var r = outcome.Result;
        var ok = HealthExpect.IsOk(r, outcome.BodyPrefix, cfg);
        var wasUnstable = _health.Unstable;
        (_health, var transition) = HealthPolicy.OnProbe(_health, r, ok, cfg);
        _lastProbe = r;

        var what = r.Error ?? $"status {r.Status}";
        switch (transition)
        {
            case HealthTransition.BecameUnhealthy:
                _log.Warning("Health checks failed for {BackendId} in {RouteId}: {Failed} in a row (last: {Last})",
                    _live.Id, _live.RouteId, _health.ConsecutiveFailed, what);
                Raise(ProxEventKinds.BackendDown, $"{_health.ConsecutiveFailed} failed health checks in a row (last: {what})");
                break;
            case HealthTransition.BecameHealthy:
                _log.Info("Health checks pass again for {BackendId} in {RouteId}", _live.Id, _live.RouteId);
                Raise(ProxEventKinds.BackendUp, $"{_health.ConsecutiveOk} passed health checks in a row");
                break;
        }
        if (!wasUnstable && _health.Unstable)
            Raise(ProxEventKinds.BackendUnstable,
                $"changed state more than {cfg.FlapThreshold} times within {cfg.FlapWindow.TotalSeconds:0} s");

        if (_breakerCfg is not null)
        {
            var before = _breaker;
            _breaker = CircuitBreaker.OnHealthCheck(before, ok, Now, _breakerCfg);
            OnBreakerChanged(before, ok ? "a health check passed" : $"a health check failed ({what})");
        }

        Announce();
        Timers.StartSingleTimer("probe", ProbeNow.Instance, HealthPolicy.NextInterval(_health, cfg, Random.Shared.NextDouble()));
    }

    // ---- circuit breaker: CircuitBreaker decides, this actor keeps the state, runs the timers and publishes ----

    private void OnBreakerResult(RequestOutcome o, BreakerConfig cfg)
    {
        var before = _breaker;
        // while half-open only this period's trials count: anything else was admitted before the breaker opened
        if (before.Mode == BreakerMode.HalfOpen && (o.Trial is null || !ReferenceEquals(o.Trial, _trials))) return;
        _breaker = CircuitBreaker.OnResult(before, !o.IsBackendFailure, Now, cfg);
        var why = before.Mode == BreakerMode.HalfOpen
            ? $"trial request {(o.IsBackendFailure ? "failed" : "succeeded")} ({o.Kind})"
            : before.ConsecutiveFailures + 1 >= cfg.ConsecutiveFailures && cfg.ConsecutiveFailures > 0
                ? $"{before.ConsecutiveFailures + 1} consecutive failures (last: {o.Kind})"
                : RateReason(before, cfg);
        OnBreakerChanged(before, why);
    }

    private string RateReason(BreakerState before, BreakerConfig cfg)
    {
        var (total, failed) = before.Window.Record(false, Now, cfg).Counts(Now);
        return $"{failed} of {total} requests failed within {cfg.Window.TotalSeconds:0.#} s (threshold {cfg.FailureRateThreshold:P0})";
    }

    private void OnBreakerTimer()
    {
        if (_breakerCfg is null) return;
        var before = _breaker;
        _breaker = CircuitBreaker.OnTimer(before, Now, _breakerCfg);
        if (_breaker.Mode == BreakerMode.Open && _breaker.OpenUntil is { } until)
            Timers.StartSingleTimer("breaker", BreakerTimer.Instance, until - Now); // fired a tick early: wait out the rest
        else
            OnBreakerChanged(before, "open time over");
    }

    /// <summary>A trial was handed out but never reported (its client left): hand out fresh permits. A trial that
    /// reached the backend always reports, as success, failure or timeout, within the attempt timeout.</summary>
    private void OnTrialDeadline(TrialDeadline d)
    {
        if (_breakerCfg is null || _breaker.Mode != BreakerMode.HalfOpen || !ReferenceEquals(d.Trials, _trials)) return;
        if (_trials.Remaining == 0)
        {
            _trials = new HalfOpenPermits(_breakerCfg.HalfOpenTrials - _breaker.TrialSuccesses);
            Announce();
        }
        Timers.StartSingleTimer("trial-deadline", new TrialDeadline(_trials), _live.AttemptTimeout + TrialGrace);
    }

    private void OnBreakerChanged(BreakerState before, string why)
    {
        var after = _breaker;
        if (before.Mode == after.Mode && before.Openings == after.Openings) return;
        switch (after.Mode)
        {
            case BreakerMode.Open:
                var until = after.OpenUntil!.Value;
                _trials = null;
                Timers.Cancel("trial-deadline");
                Timers.StartSingleTimer("breaker", BreakerTimer.Instance, until - Now);
                _log.Warning("Breaker opened for {BackendId} in {RouteId} until {OpenUntil}: {Reason}", _live.Id, _live.RouteId, until, why);
                Raise(ProxEventKinds.BreakerOpened,
                    $"{why}; open for {(until - Now).TotalSeconds:0.###} s (opening {after.Openings})");
                break;
            case BreakerMode.HalfOpen:
                Timers.Cancel("breaker");
                _trials = new HalfOpenPermits(_breakerCfg!.HalfOpenTrials);
                Timers.StartSingleTimer("trial-deadline", new TrialDeadline(_trials), _live.AttemptTimeout + TrialGrace);
                _log.Info("Breaker half-open for {BackendId} in {RouteId}: {Reason}", _live.Id, _live.RouteId, why);
                Raise(ProxEventKinds.BreakerHalfOpen, $"{why}; admitting {_breakerCfg.HalfOpenTrials} trial request(s)");
                break;
            default:
                _trials = null;
                Timers.Cancel("trial-deadline");
                _log.Info("Breaker closed for {BackendId} in {RouteId}: {Reason}", _live.Id, _live.RouteId, why);
                Raise(ProxEventKinds.BreakerClosed, why);
                break;
        }
        Announce();
    }

    /// <summary>Tells the route when availability or the trial permits changed (or always, when forced).</summary>
    private void Announce(bool force = false)
    {
        var available = Available;
        var trials = available ? _trials : null;
        if (!force && _announced is { } last && last.Available == available && ReferenceEquals(last.Trials, trials)) return;
        _announced = (available, trials);
        var until = available ? null : _breaker.OpenUntil ?? _state.EjectedUntil;
        Context.Parent.Tell(new BackendAvailabilityChanged(_live.Id, available, until) { Trials = trials });
    }

    private void Raise(string kind, string detail) =>
        Context.System.EventStream.Publish(ProxEvent.Create(Now, kind, _live.RouteId, _live.Id, detail));

    private BackendStatus Status() => new(
        _live.Id,
        _live.Config.Url.ToString(),
        _live.Config.Weight,
        Healthy: Available,
        State: _health is { Healthy: false } ? "down"
            : _breaker.Mode == BreakerMode.Open ? "open"
            : _breaker.Mode == BreakerMode.HalfOpen ? "half-open"
            : _state.IsEjected ? "ejected" : "up",
        _state.EjectedUntil,
        _live.InFlight,
        _requests,
        _failures,
        _state.ConsecutiveFailures,
        _state.Ejections,
        new LatencySummary(
            Round(_latency.Percentile(0.50)), Round(_latency.Percentile(0.95)),
            Round(_latency.Percentile(0.99)), Round(_latency.EwmaMs)))
    {
        Health = _health is null ? null : HealthStatus(_health),
        Breaker = _breakerCfg is null ? null : BreakerStatus(_breakerCfg),
    };

    private BackendBreakerStatus BreakerStatus(BreakerConfig cfg)
    {
        var (total, failed) = _breaker.Window.Counts(Now);
        return new BackendBreakerStatus(
            _breaker.Mode switch { BreakerMode.Open => "open", BreakerMode.HalfOpen => "half-open", _ => "closed" },
            _breaker.ConsecutiveFailures, _breaker.Openings, _breaker.OpenUntil,
            _trials?.Remaining ?? 0, total, failed);
    }

    private BackendHealthStatus HealthStatus(HealthState h)
    {
        var lat = HealthPolicy.SummarizeLatency(h);
        return new BackendHealthStatus(
            h.Healthy, h.Unstable, h.ConsecutiveOk, h.ConsecutiveFailed,
            Math.Round(HealthPolicy.UptimePercent(h), 2), h.History.Length,
            _lastProbe is { } p ? new LastCheck(p.At, p.Status, Round(p.Latency.TotalMilliseconds), p.Error) : null,
            new CheckLatency(Round(lat.P50Ms), Round(lat.P95Ms), Round(lat.MaxMs)));
    }

    private static double Round(double ms) => Math.Round(ms, 3);
}
