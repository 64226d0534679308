using Akka.Actor;
using Akka.Event;
using Prox.Actors.Config;
using Prox.Actors.Events;

namespace Prox.Actors.Backends;

/// <summary>
/// Owns one backend's state: request and failure counters, latency statistics and passive ejection.
/// Learns about traffic from <see cref="RequestOutcome"/> messages and tells its parent (the
/// RouteActor) when the backend's availability changes.
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

    /// <summary>Percentiles cover the current and the previous window of this length.</summary>
    public static readonly TimeSpan LatencyWindow = TimeSpan.FromSeconds(30);

    private readonly BackendLive _live;
    private readonly PassiveConfig _passive;
    private readonly LatencyStats _latency = new();
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private PassiveState _state = PassiveState.Initial;
    private long _requests;
    private long _failures;

    public BackendActor(BackendLive live, PassiveConfig passive)
    {
        _live = live;
        _passive = passive;
        Receive<RequestOutcome>(OnOutcome);
        Receive<ReturnFromEjection>(_ => OnReturn());
        Receive<RotateLatencyWindow>(_ => _latency.Rotate());
        Receive<GetBackendStatus>(_ => Sender.Tell(Status()));
        Receive<Supervision.InjectFault>(f => throw new Supervision.InjectedFaultException(f.Reason));
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(BackendLive live, PassiveConfig passive) =>
        Akka.Actor.Props.Create(() => new BackendActor(live, passive));

    protected override void PreStart()
    {
        Timers.StartPeriodicTimer("rotate", RotateLatencyWindow.Instance, LatencyWindow);
        // a restarted actor starts with fresh state: make sure the route does not keep it out of rotation
        Context.Parent.Tell(new BackendAvailabilityChanged(_live.Id, true, null));
    }

    private DateTimeOffset Now => Context.System.Scheduler.Now;

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
            Context.Parent.Tell(new BackendAvailabilityChanged(_live.Id, false, until));
            Raise(ProxEventKinds.BackendEjected,
                $"{_state.ConsecutiveFailures} consecutive failures (last: {o.Kind}); ejected until {until:O} (ejection {_state.Ejections})");
        }
    }

    private void OnReturn()
    {
        var before = _state;
        _state = PassiveEjection.OnTimer(_state, Now);
        if (before.IsEjected && !_state.IsEjected)
        {
            _log.Info("Returned {BackendId} in {RouteId} to rotation on probation", _live.Id, _live.RouteId);
            Context.Parent.Tell(new BackendAvailabilityChanged(_live.Id, true, null));
            Raise(ProxEventKinds.BackendReturned, "ejection time over; back in rotation on probation");
        }
        else if (_state.EjectedUntil is { } until)
        {
            // the scheduler fired early by a tick: wait out the rest
            Timers.StartSingleTimer("return", ReturnFromEjection.Instance, until - Now);
        }
    }

    protected override void PostRestart(Exception reason)
    {
        base.PostRestart(reason); // runs PreStart: timers, and the availability announcement
        Raise(ProxEventKinds.ActorRestarted, $"backend actor restarted after {reason.GetType().Name}: {reason.Message}");
    }

    private void Raise(string kind, string detail) =>
        Context.System.EventStream.Publish(ProxEvent.Create(Now, kind, _live.RouteId, _live.Id, detail));

    private BackendStatus Status() => new(
        _live.Id,
        _live.Config.Url.ToString(),
        _live.Config.Weight,
        Healthy: !_state.IsEjected,
        State: _state.IsEjected ? "ejected" : "up",
        _state.EjectedUntil,
        _live.InFlight,
        _requests,
        _failures,
        _state.ConsecutiveFailures,
        _state.Ejections,
        new LatencySummary(
            Round(_latency.Percentile(0.50)), Round(_latency.Percentile(0.95)),
            Round(_latency.Percentile(0.99)), Round(_latency.EwmaMs)));

    private static double Round(double ms) => Math.Round(ms, 3);
}
