using Akka.Actor;
using Akka.Event;
using Prox.Actors.Config;
using Prox.Actors.Events;
using Prox.Actors.Health;
using Prox.Actors.Recovery;

namespace Prox.Actors.Backends;

/// <summary>
/// Owns one backend's state: request and failure counters, latency statistics, passive ejection
/// and (when configured) active health checks. Learns about traffic from <see cref="RequestOutcome"/>
/// messages, probes on its own timer, and tells its parent (the RouteActor) whenever the backend's
/// availability changes: available = healthy by its checks and not ejected.
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

    /// <summary>Percentiles cover the current and the previous window of this length.</summary>
    public static readonly TimeSpan LatencyWindow = TimeSpan.FromSeconds(30);

    private readonly BackendLive _live;
    private readonly PassiveConfig _passive;
    private readonly HealthConfig? _healthCfg;
    private readonly IHealthProber? _prober;
    private readonly LatencyStats _latency = new();
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private PassiveState _state = PassiveState.Initial;
    private HealthState? _health;
    private ProbeResult? _lastProbe;
    private bool _probing;
    private bool? _announced;
    private long _requests;
    private long _failures;

    public BackendActor(BackendLive live, PassiveConfig passive, IHealthProber? prober, IRecoveryRunner? runner = null)
    {
        _live = live;
        _passive = passive;
        _prober = prober;
        _healthCfg = prober is null ? null : live.Config.Health;
        Receive<RequestOutcome>(OnOutcome);
        Receive<ReturnFromEjection>(_ => OnReturn());
        Receive<RotateLatencyWindow>(_ => _latency.Rotate());
        Receive<ProbeNow>(_ => StartProbe());
        Receive<ProbeOutcome>(OnProbeOutcome);
        Receive<GetBackendStatus>(_ => Sender.Tell(Status()));
        _runner = runner;
        _recoveryCfg = runner is null ? null : live.Config.Recovery;
        Receive<RecoveryDue>(_ => OnRecoveryDue());
        Receive<RecoveryActionCompleted>(OnRecoveryActionCompleted);
        Receive<Supervision.InjectFault>(f => throw new Supervision.InjectedFaultException(f.Reason));
    }

    public ITimerScheduler Timers { get; set; } = null!;

    /// <param name="prober">Runs active health checks when the backend's config has them; null = never probe.</param>
    /// <param name="runner">Runs the backend's recovery action when its config has one; null = never recover.</param>
    public static Props Props(BackendLive live, PassiveConfig passive, IHealthProber? prober = null, IRecoveryRunner? runner = null) =>
        Akka.Actor.Props.Create(() => new BackendActor(live, passive, prober, runner));

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

    private bool Available => (_health?.Healthy ?? true) && !_state.IsEjected;

    private void OnOutcome(RequestOutcome o)
    {
        _requests++;
        if (o.Kind is OutcomeKind.Success or OutcomeKind.GatewayStatus)
        {
            // only answered requests say how fast the backend is; timeouts would just record the limit
            _latency.Record(o.Latency);
            _live.EwmaMicros = _latency.EwmaMicros;
        }

        if (o.Kind == OutcomeKind.ClientAbort) return;
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

        Announce();
        Timers.StartSingleTimer("probe", ProbeNow.Instance, HealthPolicy.NextInterval(_health, cfg, Random.Shared.NextDouble()));
    }

    /// <summary>Tells the route when availability changed (or always, when forced).</summary>
    private void Announce(bool force = false)
    {
        var available = Available;
        if (!force && _announced == available) return;
        _announced = available;
        Context.Parent.Tell(new BackendAvailabilityChanged(_live.Id, available, available ? null : _state.EjectedUntil));
        RecoveryOnAvailability(available);
    }

    private void Raise(string kind, string detail) =>
        Context.System.EventStream.Publish(ProxEvent.Create(Now, kind, _live.RouteId, _live.Id, detail));

    private BackendStatus Status() => new(
        _live.Id,
        _live.Config.Url.ToString(),
        _live.Config.Weight,
        Healthy: Available,
        State: _health is { Healthy: false } ? "down" : _state.IsEjected ? "ejected" : "up",
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
        Recovery = RecoveryStatus(),
    };

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

    #region Recovery actions
    // All recovery state is the one immutable _recovery; RecoveryPolicy decides, these methods only apply its steps.

    private sealed record RecoveryDue
    {
        public static readonly RecoveryDue Instance = new();
    }

    /// <summary>A recovery action's result, tagged with its attempt so a late one cannot be taken for another's.</summary>
    private sealed record RecoveryActionCompleted(int Attempt, RecoveryActionResult Result);

    private const string RecoveryTimer = "recovery";
    private readonly IRecoveryRunner? _runner;
    private readonly RecoveryConfig? _recoveryCfg;
    private RecoveryState _recovery = RecoveryState.Initial;

    private void RecoveryOnAvailability(bool available)
    {
        if (_recoveryCfg is null) return;
        ApplyRecovery(RecoveryPolicy.OnAvailability(_recovery, available, Now, _recoveryCfg));
    }

    private void OnRecoveryDue()
    {
        if (_recoveryCfg is null) return;
        ApplyRecovery(RecoveryPolicy.OnTimer(_recovery, Now, _recoveryCfg, Random.Shared.NextDouble()));
    }

    private void OnRecoveryActionCompleted(RecoveryActionCompleted c)
    {
        if (_recoveryCfg is null) return;
        ApplyRecovery(RecoveryPolicy.OnActionResult(_recovery, c.Attempt, c.Result, Now, _recoveryCfg));
    }

    private void ApplyRecovery(RecoveryStep step)
    {
        _recovery = step.State;
        foreach (var e in step.Events)
        {
            if (e.Kind == ProxEventKinds.RecoverySucceeded)
                _log.Info("Recovery of {BackendId} in {RouteId} succeeded: {Detail}", _live.Id, _live.RouteId, e.Detail);
            else
                _log.Warning("Recovery of {BackendId} in {RouteId}: {EventKind} {Detail}", _live.Id, _live.RouteId, e.Kind, e.Detail);
            Raise(e.Kind, e.Detail);
        }
        if (step.RunAction && _recoveryCfg is not null && _runner is not null && _recovery.Pending is { } p)
        {
            var attempt = p.Number;
            // the runner never throws; a faulted task still becomes a failed attempt, never a stuck one
            _runner.RunAsync(_recoveryCfg, CancellationToken.None).PipeTo(Self,
                success: r => new RecoveryActionCompleted(attempt, r),
                failure: ex => new RecoveryActionCompleted(attempt, new RecoveryActionResult(false, $"runner error: {ex.Message}", TimeSpan.Zero)));
        }
        // the timer always mirrors the state: armed for the next due attempt, cancelled while up
        if (_recovery.NextAttemptAt is { } due && _recovery.Pending is not { Running: true })
            Timers.StartSingleTimer(RecoveryTimer, RecoveryDue.Instance, Max(due - Now, TimeSpan.FromMilliseconds(1)));
        else
            Timers.Cancel(RecoveryTimer);
    }

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

    private BackendRecoveryStatus? RecoveryStatus()
    {
        if (_recoveryCfg is null) return null;
        var r = _recovery;
        return new BackendRecoveryStatus(_recoveryCfg.Describe(), r.Attempts, r.Successes, r.Failures,
            r.SuccessRate is { } rate ? Math.Round(rate, 4) : null, r.DownSince, r.NextAttemptAt,
            r.LastAttempt is { } a ? new LastRecoveryAttempt(a.At, a.Number, a.ActionOk, a.Detail) : null);
    }
    #endregion
}
