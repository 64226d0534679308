using Akka.Actor;
using Akka.Event;
using Prox.Actors.Breaker;
using Prox.Actors.Config;
using Prox.Actors.Events;
using Prox.Actors.Health;
using Prox.Actors.Recovery;

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
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly BackendMemory _m;
    private HalfOpenPermits? _trials;
    private bool _probing;
    private (bool Available, HalfOpenPermits? Trials)? _announced;

    public BackendActor(BackendMemory memory, PassiveConfig passive, IHealthProber? prober, IRecoveryRunner? runner = null)
    {
        _m = memory;
        var live = memory.Live;
        _live = live;
        _passive = passive;
        _prober = prober;
        _healthCfg = prober is null ? null : live.Config.Health;
        _breakerCfg = live.Config.Breaker;
        Receive<RequestOutcome>(OnOutcome);
        Receive<Cluster.OutcomeBatch>(OnBatch);
        Receive<Cluster.TrialOutcome>(t => OnOutcome(new RequestOutcome(t.Kind, t.Status, TimeSpan.FromMicroseconds(t.LatencyMicros)) { Trial = t.Trial }));
        Receive<ReturnFromEjection>(_ => OnReturn());
        Receive<RotateLatencyWindow>(_ => _m.Latency.Rotate());
        Receive<ProbeNow>(_ => StartProbe());
        Receive<ProbeOutcome>(OnProbeOutcome);
        Receive<BreakerTimer>(_ => OnBreakerTimer());
        Receive<TrialDeadline>(OnTrialDeadline);
        Receive<GetBackendStatus>(_ => Sender.Tell(Status()));
        _runner = runner;
        _recoveryCfg = runner is null ? null : live.Config.Recovery;
        Receive<RecoveryDue>(_ => OnRecoveryDue());
        Receive<RecoveryActionCompleted>(OnRecoveryActionCompleted);
        Receive<Supervision.InjectFault>(f => throw new Supervision.InjectedFaultException(f.Reason));
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

    protected override void PreStart()
    {
        _live.Mailbox = Self;
        Timers.StartPeriodicTimer("rotate", RotateLatencyWindow.Instance, LatencyWindow);
        if (_healthCfg is not null)
        {
            _m.Health ??= HealthState.Initial(_healthCfg);
            Timers.StartSingleTimer("probe", ProbeNow.Instance, TimeSpan.FromMilliseconds(1));
        }
        ResumeTimers();
        ResumeRecovery();
        if (_m.TakePendingCrash() is { } crash)
        {
            _log.Warning("Restarted the actor of {BackendId} in {RouteId} after {Exception}: {Message} (crash {Crashes})",
                _live.Id, _live.RouteId, crash.Exception, crash.Message, crash.Count);
            Raise(ProxEventKinds.ActorRestarted,
                $"backend actor restarted after {crash.Exception}: {crash.Message} (crash {crash.Count}, " +
                $"{(Now - crash.At).TotalSeconds:0.###} s backoff); state kept: {_m.Requests} requests, breaker {_m.Breaker.Mode}, " +
                $"{(_m.Health is { Healthy: false } ? "down" : "healthy")}");
        }
        // tell the route where things stand: a restarted route or actor must not keep stale availability
        Announce(force: true);
    }

    protected override void PostRestart(Exception reason)
    {
        // restarted in place (a parent without backoff, e.g. in tests): same memory, same report
        _m.RecordCrash(reason, Now);
        base.PostRestart(reason);
    }

    /// <summary>A new incarnation re-arms the timers its predecessor's state needs.</summary>
    private void ResumeTimers()
    {
        if (_m.Passive.EjectedUntil is { } back)
            Timers.StartSingleTimer("return", ReturnFromEjection.Instance, Max0(back - Now));
        switch (_m.Breaker.Mode)
        {
            case BreakerMode.Open:
                Timers.StartSingleTimer("breaker", BreakerTimer.Instance, Max0(_m.Breaker.OpenUntil!.Value - Now));
                break;
            case BreakerMode.HalfOpen when _breakerCfg is not null:
                // permits handed out by the previous incarnation are unknown: start the trials over
                _trials = new HalfOpenPermits(Math.Max(1, _breakerCfg.HalfOpenTrials - _m.Breaker.TrialSuccesses));
                Timers.StartSingleTimer("trial-deadline", new TrialDeadline(_trials), _live.AttemptTimeout + TrialGrace);
                break;
        }
    }

    private static TimeSpan Max0(TimeSpan t) => t > TimeSpan.Zero ? t : TimeSpan.Zero;

    private DateTimeOffset Now => Context.System.Scheduler.Now;

    private bool Available => (_m.Health?.Healthy ?? true) && !_m.Passive.IsEjected && _m.Breaker.Mode != BreakerMode.Open;

    private void OnOutcome(RequestOutcome o)
    {
        _m.Requests++;
        if (o.Kind is OutcomeKind.Success or OutcomeKind.GatewayStatus)
        {
            // only answered requests say how fast the backend is; timeouts would just record the limit
            _m.Latency.Record(o.Latency);
            _live.EwmaMicros = _m.Latency.EwmaMicros;
        }

        // a client that left says nothing about the backend (a trial it held is recovered by the trial deadline)
        if (o.Kind == OutcomeKind.ClientAbort) return;
        if (_breakerCfg is not null)
        {
            if (o.IsBackendFailure) _m.Failures++;
            OnBreakerResult(o, _breakerCfg);
            return;
        }

        var before = _m.Passive;
        if (o.IsBackendFailure)
        {
            _m.Failures++;
            _m.Passive = PassiveEjection.OnFailure(_m.Passive, Now, _passive);
        }
        else
        {
            _m.Passive = PassiveEjection.OnSuccess(_m.Passive);
        }

        if (!before.IsEjected && _m.Passive.EjectedUntil is { } until)
        {
            _log.Warning("Ejected {BackendId} in {RouteId} until {EjectedUntil} after {Failures} consecutive failures (last: {Outcome})",
                _live.Id, _live.RouteId, until, _m.Passive.ConsecutiveFailures, o.Kind);
            Timers.StartSingleTimer("return", ReturnFromEjection.Instance, until - Now);
            // the backend's own event first: the route's pool-down, which follows from it, must come after
            Raise(ProxEventKinds.BackendEjected,
                $"{_m.Passive.ConsecutiveFailures} consecutive failures (last: {o.Kind}); ejected until {until:O} (ejection {_m.Passive.Ejections})");
            Announce();
        }
    }

    /// <summary>Cluster mode: another node's outcomes, replayed in order as if each had been told on its own.</summary>
    private void OnBatch(Cluster.OutcomeBatch batch)
    {
        foreach (var run in batch.Runs)
        {
            var outcome = new RequestOutcome(run.Kind, run.Status, TimeSpan.FromMicroseconds(run.MeanLatencyMicros));
            for (var i = 0; i < run.Count; i++) OnOutcome(outcome);
        }
    }

    private void OnReturn()
    {
        var before = _m.Passive;
        _m.Passive = PassiveEjection.OnTimer(_m.Passive, Now);
        if (before.IsEjected && !_m.Passive.IsEjected)
        {
            _log.Info("Returned {BackendId} in {RouteId} to rotation on probation", _live.Id, _live.RouteId);
            Raise(ProxEventKinds.BackendReturned, "ejection time over; back in rotation on probation");
            Announce();
        }
        else if (_m.Passive.EjectedUntil is { } until)
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
        if (_m.Health is null || _healthCfg is null) return;
        var cfg = _healthCfg;
        var r = outcome.Result;
        var ok = HealthExpect.IsOk(r, outcome.BodyPrefix, cfg);
        var wasUnstable = _m.Health.Unstable;
        (_m.Health, var transition) = HealthPolicy.OnProbe(_m.Health, r, ok, cfg);
        _m.LastProbe = r;

        var what = r.Error ?? $"status {r.Status}";
        switch (transition)
        {
            case HealthTransition.BecameUnhealthy:
                _log.Warning("Health checks failed for {BackendId} in {RouteId}: {Failed} in a row (last: {Last})",
                    _live.Id, _live.RouteId, _m.Health.ConsecutiveFailed, what);
                Raise(ProxEventKinds.BackendDown, $"{_m.Health.ConsecutiveFailed} failed health checks in a row (last: {what})");
                break;
            case HealthTransition.BecameHealthy:
                _log.Info("Health checks pass again for {BackendId} in {RouteId}", _live.Id, _live.RouteId);
                Raise(ProxEventKinds.BackendUp, $"{_m.Health.ConsecutiveOk} passed health checks in a row");
                break;
        }
        if (!wasUnstable && _m.Health.Unstable)
            Raise(ProxEventKinds.BackendUnstable,
                $"changed state more than {cfg.FlapThreshold} times within {cfg.FlapWindow.TotalSeconds:0} s");

        if (ok && _m.Passive.IsEjected && _m.Health.Healthy)
        {
            _m.Passive = PassiveEjection.OnHealthCheckPassed(_m.Passive, Now);
            Timers.Cancel("return");
            _log.Info("Returned {BackendId} in {RouteId} to rotation on probation: a health check passed", _live.Id, _live.RouteId);
            Raise(ProxEventKinds.BackendReturned, "a health check passed; back in rotation on probation");
        }

        if (_breakerCfg is not null)
        {
            var before = _m.Breaker;
            _m.Breaker = CircuitBreaker.OnHealthCheck(before, ok, Now, _breakerCfg);
            OnBreakerChanged(before, ok ? "a health check passed" : $"a health check failed ({what})");
        }

        Announce();
        Timers.StartSingleTimer("probe", ProbeNow.Instance, HealthPolicy.NextInterval(_m.Health, cfg, Random.Shared.NextDouble()));
    }

    // ---- circuit breaker: CircuitBreaker decides, this actor keeps the state, runs the timers and publishes ----

    private void OnBreakerResult(RequestOutcome o, BreakerConfig cfg)
    {
        var before = _m.Breaker;
        // while half-open only this period's trials count: anything else was admitted before the breaker opened
        if (before.Mode == BreakerMode.HalfOpen && (o.Trial is null || !ReferenceEquals(o.Trial, _trials))) return;
        _m.Breaker = CircuitBreaker.OnResult(before, !o.IsBackendFailure, Now, cfg);
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
        var before = _m.Breaker;
        _m.Breaker = CircuitBreaker.OnTimer(before, Now, _breakerCfg);
        if (_m.Breaker.Mode == BreakerMode.Open && _m.Breaker.OpenUntil is { } until)
            Timers.StartSingleTimer("breaker", BreakerTimer.Instance, until - Now); // fired a tick early: wait out the rest
        else
            OnBreakerChanged(before, "open time over");
    }

    /// <summary>A trial was handed out but never reported (its client left): hand out fresh permits. A trial that
    /// reached the backend always reports, as success, failure or timeout, within the attempt timeout.</summary>
    private void OnTrialDeadline(TrialDeadline d)
    {
        if (_breakerCfg is null || _m.Breaker.Mode != BreakerMode.HalfOpen || !ReferenceEquals(d.Trials, _trials)) return;
        if (_trials.Remaining == 0)
        {
            _trials = new HalfOpenPermits(_breakerCfg.HalfOpenTrials - _m.Breaker.TrialSuccesses);
            Announce();
        }
        Timers.StartSingleTimer("trial-deadline", new TrialDeadline(_trials), _live.AttemptTimeout + TrialGrace);
    }

    private void OnBreakerChanged(BreakerState before, string why)
    {
        var after = _m.Breaker;
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
        _m.LastAvailable = available;
        var until = available ? null : _m.Breaker.OpenUntil ?? _m.Passive.EjectedUntil;
        Context.Parent.Tell(new BackendAvailabilityChanged(_live.Id, available, until) { Trials = trials });
        RecoveryOnAvailability(available);
    }

    private void Raise(string kind, string detail) =>
        Context.System.EventStream.Publish(ProxEvent.Create(Now, kind, _live.RouteId, _live.Id, detail));

    private BackendStatus Status() => new(
        _live.Id,
        _live.Config.Url.ToString(),
        _live.Config.Weight,
        Healthy: Available,
        State: _m.Health is { Healthy: false } ? "down"
            : _m.Breaker.Mode == BreakerMode.Open ? "open"
            : _m.Breaker.Mode == BreakerMode.HalfOpen ? "half-open"
            : _m.Passive.IsEjected ? "ejected" : "up",
        _m.Passive.EjectedUntil,
        _live.InFlight,
        _m.Requests,
        _m.Failures,
        _m.Passive.ConsecutiveFailures,
        _m.Passive.Ejections,
        new LatencySummary(
            Round(_m.Latency.Percentile(0.50)), Round(_m.Latency.Percentile(0.95)),
            Round(_m.Latency.Percentile(0.99)), Round(_m.Latency.EwmaMs)))
    {
        Health = _m.Health is null ? null : HealthStatus(_m.Health),
        Breaker = _breakerCfg is null ? null : BreakerStatus(_breakerCfg),
        Recovery = RecoveryStatus(),
    };

    private BackendBreakerStatus BreakerStatus(BreakerConfig cfg)
    {
        var (total, failed) = _m.Breaker.Window.Counts(Now);
        return new BackendBreakerStatus(
            _m.Breaker.Mode switch { BreakerMode.Open => "open", BreakerMode.HalfOpen => "half-open", _ => "closed" },
            _m.Breaker.ConsecutiveFailures, _m.Breaker.Openings, _m.Breaker.OpenUntil,
            _trials?.Remaining ?? 0, total, failed);
    }

    private BackendHealthStatus HealthStatus(HealthState h)
    {
        var lat = HealthPolicy.SummarizeLatency(h);
        return new BackendHealthStatus(
            h.Healthy, h.Unstable, h.ConsecutiveOk, h.ConsecutiveFailed,
            Math.Round(HealthPolicy.UptimePercent(h), 2), h.History.Length,
            _m.LastProbe is { } p ? new LastCheck(p.At, p.Status, Round(p.Latency.TotalMilliseconds), p.Error) : null,
            new CheckLatency(Round(lat.P50Ms), Round(lat.P95Ms), Round(lat.MaxMs)));
    }

    private static double Round(double ms) => Math.Round(ms, 3);

    #region Recovery actions
    // All recovery state is the one immutable _m.Recovery (kept across restarts); RecoveryPolicy decides, these methods
    // only apply its steps.

    private sealed record RecoveryDue
    {
        public static readonly RecoveryDue Instance = new();
    }

    /// <summary>A recovery action's result, tagged with its attempt so a late one cannot be taken for another's.</summary>
    private sealed record RecoveryActionCompleted(int Attempt, RecoveryActionResult Result);

    private const string RecoveryTimer = "recovery";
    private readonly IRecoveryRunner? _runner;
    private readonly RecoveryConfig? _recoveryCfg;

    /// <summary>A new incarnation picks up its predecessor's recovery: re-arms the timer, and judges an action that
    /// was running when the old one crashed as failed (its result went to the dead incarnation).</summary>
    private void ResumeRecovery()
    {
        if (_recoveryCfg is null) return;
        if (_m.Recovery.Pending is { Running: true } p)
            ApplyRecovery(RecoveryPolicy.OnActionResult(_m.Recovery, p.Number,
                new RecoveryActionResult(false, "the backend's actor restarted while the action ran; its result is unknown", TimeSpan.Zero),
                Now, _recoveryCfg));
        else
            ApplyRecovery(RecoveryStep.Same(_m.Recovery));
    }

    private void RecoveryOnAvailability(bool available)
    {
        if (_recoveryCfg is null) return;
        ApplyRecovery(RecoveryPolicy.OnAvailability(_m.Recovery, available, Now, _recoveryCfg));
    }

    private void OnRecoveryDue()
    {
        if (_recoveryCfg is null) return;
        ApplyRecovery(RecoveryPolicy.OnTimer(_m.Recovery, Now, _recoveryCfg, Random.Shared.NextDouble()));
    }

    private void OnRecoveryActionCompleted(RecoveryActionCompleted c)
    {
        if (_recoveryCfg is null) return;
        ApplyRecovery(RecoveryPolicy.OnActionResult(_m.Recovery, c.Attempt, c.Result, Now, _recoveryCfg));
    }

    private void ApplyRecovery(RecoveryStep step)
    {
        _m.Recovery = step.State;
        foreach (var e in step.Events)
        {
            if (e.Kind == ProxEventKinds.RecoverySucceeded)
                _log.Info("Recovery of {BackendId} in {RouteId} succeeded: {Detail}", _live.Id, _live.RouteId, e.Detail);
            else
                _log.Warning("Recovery of {BackendId} in {RouteId}: {EventKind} {Detail}", _live.Id, _live.RouteId, e.Kind, e.Detail);
            Raise(e.Kind, e.Detail);
        }
        if (step.RunAction && _recoveryCfg is not null && _runner is not null && _m.Recovery.Pending is { } p)
        {
            var attempt = p.Number;
            // the runner never throws; a faulted task still becomes a failed attempt, never a stuck one
            _runner.RunAsync(_recoveryCfg, CancellationToken.None).PipeTo(Self,
                success: r => new RecoveryActionCompleted(attempt, r),
                failure: ex => new RecoveryActionCompleted(attempt, new RecoveryActionResult(false, $"runner error: {ex.Message}", TimeSpan.Zero)));
        }
        // the timer always mirrors the state: armed for the next due attempt, cancelled while up
        if (_m.Recovery.NextAttemptAt is { } due && _m.Recovery.Pending is not { Running: true })
            Timers.StartSingleTimer(RecoveryTimer, RecoveryDue.Instance, Max(due - Now, TimeSpan.FromMilliseconds(1)));
        else
            Timers.Cancel(RecoveryTimer);
    }

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

    private BackendRecoveryStatus? RecoveryStatus()
    {
        if (_recoveryCfg is null) return null;
        var r = _m.Recovery;
        return new BackendRecoveryStatus(_recoveryCfg.Describe(), r.Attempts, r.Successes, r.Failures,
            r.SuccessRate is { } rate ? Math.Round(rate, 4) : null, r.DownSince, r.NextAttemptAt,
            r.LastAttempt is { } a ? new LastRecoveryAttempt(a.At, a.Number, a.ActionOk, a.Detail) : null);
    }
    #endregion
}
