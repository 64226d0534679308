using System.Collections.Concurrent;
using Akka.Actor;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using Prox.Actors.Backends;
using Prox.Actors.Config;
using Prox.Actors.Events;
using Prox.Actors.Health;
using Prox.Actors.Recovery;
using Xunit;

namespace Prox.Tests.Recovery;

/// <summary>The BackendActor's recovery actions, driven in virtual time by a scripted prober and runner.</summary>
public class BackendRecoveryActorTests : TestKit
{
    private static readonly HealthConfig Health = HealthConfig.Default with
    {
        Interval = TimeSpan.FromSeconds(10),
        UnhealthyInterval = TimeSpan.FromSeconds(1),
        MaxUnhealthyInterval = TimeSpan.FromSeconds(1),
        HealthyAfter = 1,
        UnhealthyAfter = 1,
        Jitter = 0,
    };

    private static readonly RecoveryConfig Recovery = RecoveryConfig.Default with
    {
        After = TimeSpan.FromSeconds(5),
        Backoff = TimeSpan.FromSeconds(10),
        MaxBackoff = TimeSpan.FromSeconds(40),
        Command = ["/usr/local/bin/restart-app", "--now"],
    };

    private static readonly TimeSpan Step = TimeSpan.FromMilliseconds(250);

    private readonly ScriptedProber _prober = new();
    private readonly ScriptedRunner _runner;
    private readonly ConcurrentQueue<ProxEvent> _events = new();
    private IActorRef _actor = ActorRefs.Nobody;

    public BackendRecoveryActorTests()
        : base("akka.scheduler.implementation = \"Akka.TestKit.TestScheduler, Akka.TestKit\"")
    {
        _runner = new ScriptedRunner(() => Sys.Scheduler.Now);
    }

    private TestScheduler Scheduler => (TestScheduler)Sys.Scheduler;

    /// <summary>Probes answer by <see cref="Healthy"/> at the time of the probe.</summary>
    private sealed class ScriptedProber : IHealthProber
    {
        private volatile bool _healthy = true;
        public bool Healthy { get => _healthy; set => _healthy = value; }
        public ConcurrentQueue<DateTimeOffset> Calls { get; } = new();

        public Task<ProbeOutcome> ProbeAsync(Uri backend, HealthConfig cfg, DateTimeOffset now)
        {
            Calls.Enqueue(now);
            var ok = Healthy;
            return Task.FromResult(new ProbeOutcome(
                new ProbeResult(now, ok ? 200 : 0, TimeSpan.FromMilliseconds(1), ok ? null : "connection failed"), null));
        }
    }

    /// <summary>Answers each run with the next scripted result (ok while the script is empty) and records when (virtual time).</summary>
    private sealed class ScriptedRunner(Func<DateTimeOffset> now) : IRecoveryRunner
    {
        public ConcurrentQueue<RecoveryActionResult> Script { get; } = new();
        public ConcurrentQueue<(DateTimeOffset At, RecoveryConfig Cfg)> Calls { get; } = new();

        public Task<RecoveryActionResult> RunAsync(RecoveryConfig cfg, CancellationToken ct)
        {
            Calls.Enqueue((now(), cfg));
            return Task.FromResult(Script.TryDequeue(out var r) ? r : new RecoveryActionResult(true, "exit code 0", TimeSpan.FromMilliseconds(50)));
        }
    }

    private sealed class Collector : ReceiveActor
    {
        public Collector(ConcurrentQueue<ProxEvent> into) => Receive<ProxEvent>(into.Enqueue);
    }

    private TestProbe Start(SupervisorStrategy? strategy = null)
    {
        var collector = Sys.ActorOf(Props.Create(() => new Collector(_events)));
        Sys.EventStream.Subscribe(collector, typeof(ProxEvent));
        var live = new BackendLive("r", new BackendConfig("b1", new Uri("http://127.0.0.1:1"), 1, null) { Health = Health, Recovery = Recovery });
        var parent = CreateTestProbe();
        var props = BackendActor.Props(live, PassiveConfig.Default, _prober, _runner);
        _actor = strategy is null ? parent.ChildActorOf(props) : parent.ChildActorOf(props, strategy);
        parent.ExpectMsg<BackendAvailabilityChanged>(m => m.Available);
        return parent;
    }

    private BackendStatus Status() => _actor.Ask<BackendStatus>(GetBackendStatus.Instance, TimeSpan.FromSeconds(3)).Result;

    private string[] Kinds() => _events.Select(e => e.Kind).ToArray();

    /// <summary>Waits until the actor has processed every probe and action result it started, so its timers are
    /// set before virtual time moves again.</summary>
    private void Settle() =>
        AwaitCondition(() =>
            Status().Health!.Checks == _prober.Calls.Count
            && _events.Count(e => e.Kind == ProxEventKinds.RecoveryAttempted) == _runner.Calls.Count,
            TimeSpan.FromSeconds(3), TimeSpan.FromMilliseconds(5));

    /// <summary>Moves virtual time in small steps, settling after each, until <paramref name="condition"/> holds.</summary>
    private void AdvanceUntil(Func<bool> condition, TimeSpan atMost, string what)
    {
        for (var t = TimeSpan.Zero; t <= atMost; t += Step)
        {
            Scheduler.Advance(Step);
            Settle();
            if (condition()) return;
        }
        Assert.Fail($"not within {atMost} of virtual time: {what}");
    }

    [Fact]
    public void DownForAfter_ActionRuns_StillDown_FailedThenNextAttemptBacksOff_ThenBackendReturns_Succeeded()
    {
        Start();
        _prober.Healthy = false;
        AdvanceUntil(() => Status().State == "down", TimeSpan.FromSeconds(2), "down");
        var downAt = Status().Recovery!.DownSince!.Value;
        Assert.Equal(downAt + Recovery.After, Status().Recovery!.NextAttemptAt);

        AdvanceUntil(() => _runner.Calls.Count == 1, TimeSpan.FromSeconds(6), "first attempt");
        var first = _runner.Calls.First();
        Assert.InRange(first.At - downAt, Recovery.After, Recovery.After + Step);
        Assert.Same(Recovery, first.Cfg);

        // still down when the next is due (10 s ± 10% after the first): failed, and attempt 2 runs
        AdvanceUntil(() => _runner.Calls.Count == 2, TimeSpan.FromSeconds(12), "second attempt");
        var second = _runner.Calls.Last();
        Assert.InRange(second.At - first.At, TimeSpan.FromSeconds(9), TimeSpan.FromSeconds(11) + Step);
        var mid = Status().Recovery!;
        Assert.Equal((2, 0, 1), (mid.Attempts, mid.Successes, mid.Failures));
        Assert.Equal(0.0, mid.SuccessRate);
        // backoff doubles: the third would be due 20 s ± 10% after the second
        Assert.InRange(mid.NextAttemptAt!.Value - second.At, TimeSpan.FromSeconds(18), TimeSpan.FromSeconds(22));

        _prober.Healthy = true;
        AdvanceUntil(() => Kinds().Contains(ProxEventKinds.RecoverySucceeded), TimeSpan.FromSeconds(2), "succeeded");

        Assert.Equal(
            [ProxEventKinds.BackendDown, ProxEventKinds.RecoveryAttempted, ProxEventKinds.RecoveryFailed,
             ProxEventKinds.RecoveryAttempted, ProxEventKinds.BackendUp, ProxEventKinds.RecoverySucceeded],
            Kinds());
        var events = _events.ToArray();
        Assert.All(events, e => Assert.Equal(("r", "b1"), (e.Route, e.Backend)));
        Assert.Equal("command /usr/local/bin/restart-app: attempt 1: action ok in 0.05 s: exit code 0", events[1].Detail);
        Assert.StartsWith("attempt 1: backend still down when the next attempt was due", events[2].Detail);
        Assert.StartsWith("backend available again after 2 attempts; down for ", events[5].Detail);

        var done = Status().Recovery!;
        Assert.Equal("command /usr/local/bin/restart-app", done.Action);
        Assert.Equal((2, 1, 1, 0.5), (done.Attempts, done.Successes, done.Failures, done.SuccessRate));
        Assert.Null(done.DownSince);
        Assert.Null(done.NextAttemptAt);
        Assert.Equal(new LastRecoveryAttempt(second.At, 2, true, "exit code 0"), done.LastAttempt);

        // up again: no further attempts however long we wait
        Scheduler.Advance(TimeSpan.FromMinutes(5));
        Settle();
        Assert.Equal(2, _runner.Calls.Count);
    }

    [Fact]
    public void ActorCrashesDuringOutage_RecoveryStatsAndScheduleSurvive()
    {
        Start(new OneForOneStrategy(_ => Directive.Restart)); // restarted in place, from the same memory
        _prober.Healthy = false;
        AdvanceUntil(() => Status().State == "down", TimeSpan.FromSeconds(2), "down");
        AdvanceUntil(() => _runner.Calls.Count == 1, TimeSpan.FromSeconds(6), "first attempt");
        var before = Status().Recovery!;
        Assert.Equal(1, before.Attempts);

        _actor.Tell(new Prox.Actors.Supervision.InjectFault("drill"));
        AwaitCondition(() => _events.Any(e => e.Kind == ProxEventKinds.ActorRestarted), TimeSpan.FromSeconds(3));

        // the new incarnation has the outage, the attempt and its schedule
        var after = Status().Recovery!;
        Assert.Equal((before.Attempts, before.DownSince, before.NextAttemptAt), (after.Attempts, after.DownSince, after.NextAttemptAt));
        Assert.Equal("down", Status().State);

        // and judges the attempt when the backend returns
        _prober.Healthy = true;
        AdvanceUntil(() => Kinds().Contains(ProxEventKinds.RecoverySucceeded), TimeSpan.FromSeconds(3), "succeeded");
        var done = Status().Recovery!;
        Assert.Equal((1, 1, 0, 1.0), (done.Attempts, done.Successes, done.Failures, done.SuccessRate));
    }

    [Fact]
    public void BackendReturnsBeforeAfter_NoAttempt()
    {
        Start();
        _prober.Healthy = false;
        AdvanceUntil(() => Status().State == "down", TimeSpan.FromSeconds(2), "down");
        _prober.Healthy = true;
        AdvanceUntil(() => Status().State == "up", TimeSpan.FromSeconds(2), "up");

        Scheduler.Advance(Recovery.After * 3);
        Settle();

        Assert.Empty(_runner.Calls);
        Assert.Equal([ProxEventKinds.BackendDown, ProxEventKinds.BackendUp], Kinds());
        var r = Status().Recovery!;
        Assert.Equal((0, null, null, null), (r.Attempts, r.SuccessRate, r.DownSince, r.LastAttempt));
    }

    [Fact]
    public void ActionFails_FailedAtOnce_WithRunnerDetail_NextAttemptStillOnSchedule()
    {
        Start();
        _runner.Script.Enqueue(new RecoveryActionResult(false, "exit code 3; stderr: unit not found", TimeSpan.FromMilliseconds(20)));
        _prober.Healthy = false;
        AdvanceUntil(() => _runner.Calls.Count == 1, TimeSpan.FromSeconds(8), "first attempt");

        Assert.Equal([ProxEventKinds.BackendDown, ProxEventKinds.RecoveryAttempted, ProxEventKinds.RecoveryFailed], Kinds());
        Assert.Equal("attempt 1: action failed: exit code 3; stderr: unit not found", _events.Last().Detail);
        var r = Status().Recovery!;
        Assert.Equal((1, 0, 1, 0.0), (r.Attempts, r.Successes, r.Failures, r.SuccessRate));
        Assert.False(r.LastAttempt!.ActionOk);

        AdvanceUntil(() => _runner.Calls.Count == 2, TimeSpan.FromSeconds(12), "second attempt");
        Assert.Single(_events, e => e.Kind == ProxEventKinds.RecoveryFailed); // the failed action was judged once
    }

    [Fact]
    public async Task NoRunner_RecoveryConfigured_NeverRuns_NoStatus()
    {
        var live = new BackendLive("r", new BackendConfig("b1", new Uri("http://127.0.0.1:1"), 1, null) { Health = Health, Recovery = Recovery });
        var parent = CreateTestProbe();
        var actor = parent.ChildActorOf(BackendActor.Props(live, PassiveConfig.Default, _prober));
        parent.ExpectMsg<BackendAvailabilityChanged>(m => m.Available);

        Assert.Null((await actor.Ask<BackendStatus>(GetBackendStatus.Instance, TimeSpan.FromSeconds(3))).Recovery);
    }
}
