using System.Collections.Concurrent;
using Akka.Actor;
using Akka.Event;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using Prox.Actors.Backends;
using Prox.Actors.Breaker;
using Prox.Actors.Config;
using Prox.Actors.Events;
using Prox.Actors.Health;
using Xunit;

namespace Prox.Tests.Breaker;

/// <summary>The circuit breaker as the BackendActor runs it: transitions, open-time doubling, trial permits in the
/// snapshot, health-check interplay and the trial deadline, all in virtual time.</summary>
public class BackendBreakerActorTests : TestKit
{
    private static readonly BreakerConfig Cfg = BreakerConfig.Default with
    {
        ConsecutiveFailures = 3,
        MinimumRequests = 10,
        OpenFor = TimeSpan.FromSeconds(1),
        MaxOpen = TimeSpan.FromSeconds(4),
        HalfOpenTrials = 2,
    };

    private static readonly RequestOutcome Fail = new(OutcomeKind.ConnectFailure, 0, TimeSpan.Zero);
    private static readonly RequestOutcome Ok = new(OutcomeKind.Success, 200, TimeSpan.FromMilliseconds(2));

    public BackendBreakerActorTests()
        : base("akka.scheduler.implementation = \"Akka.TestKit.TestScheduler, Akka.TestKit\"")
    {
    }

    private TestScheduler Scheduler => (TestScheduler)Sys.Scheduler;

    private (IActorRef Actor, TestProbe Parent, TestProbe Events) Start(BreakerConfig? cfg = null, IHealthProber? prober = null,
        HealthConfig? health = null)
    {
        var events = CreateTestProbe();
        Sys.EventStream.Subscribe<ProxEvent>(events);
        // a first passing check is announced as an initial backend-up (for the Notifier); these tests look at changes
        events.IgnoreMessages<ProxEvent>(e => e is { Initial: true, Kind: ProxEventKinds.BackendUp });
        var live = new BackendLive("r", new BackendConfig("b1", new Uri("http://127.0.0.1:1"), 1, null)
        {
            Breaker = cfg ?? Cfg,
            Health = health,
        }) { AttemptTimeout = TimeSpan.FromSeconds(5) };
        var parent = CreateTestProbe();
        var actor = parent.ChildActorOf(BackendActor.Props(live, PassiveConfig.Default, prober));
        var first = parent.ExpectMsg<BackendAvailabilityChanged>();
        Assert.True(first.Available);
        Assert.Null(first.Trials);
        return (actor, parent, events);
    }

    private BackendStatus Status(IActorRef actor)
    {
        actor.Tell(GetBackendStatus.Instance, TestActor);
        return ExpectMsg<BackendStatus>();
    }

    private BackendBreakerStatus Breaker(IActorRef actor) => Status(actor).Breaker!;

    /// <summary>Trips the breaker with consecutive failures and returns the availability message it sent.</summary>
    private static BackendAvailabilityChanged Trip(IActorRef actor, TestProbe parent, int failures = 3)
    {
        for (var i = 0; i < failures; i++) actor.Tell(Fail);
        return parent.ExpectMsg<BackendAvailabilityChanged>();
    }

    [Fact]
    public void ConsecutiveFailures_OpenBreaker_BackendUnavailableUntilOpenTimeWithEvent()
    {
        var (actor, parent, events) = Start();
        actor.Tell(Fail);
        actor.Tell(Fail);
        parent.ExpectNoMsg(TimeSpan.FromMilliseconds(100)); // two of three: still closed

        var open = Trip(actor, parent, 1);
        Assert.False(open.Available);
        Assert.Equal(Scheduler.Now + TimeSpan.FromSeconds(1), open.EjectedUntil); // Retry-After source
        var opened = events.ExpectMsg<ProxEvent>();
        Assert.Equal((ProxEventKinds.BreakerOpened, "r", "b1"), (opened.Kind, opened.Route, opened.Backend));
        Assert.Contains("3 consecutive failures", opened.Detail);

        var status = Status(actor);
        Assert.Equal("open", status.State);
        Assert.False(status.Healthy);
        Assert.Equal(("open", 1), (status.Breaker!.State, status.Breaker.Openings));
    }

    [Fact]
    public void FailureRate_OverMinimumRequests_OpensBreaker()
    {
        var (actor, parent, events) = Start(Cfg with { ConsecutiveFailures = 0, FailureRateThreshold = 0.5, MinimumRequests = 10 });
        // alternating results never make a run, but half of them fail
        for (var i = 0; i < 4; i++)
        {
            actor.Tell(Ok);
            actor.Tell(Fail);
        }
        actor.Tell(Ok);
        parent.ExpectNoMsg(TimeSpan.FromMilliseconds(100)); // 9 results: below the minimum
        actor.Tell(Fail);
        Assert.False(parent.ExpectMsg<BackendAvailabilityChanged>().Available);
        Assert.Contains("5 of 10 requests failed", events.ExpectMsg<ProxEvent>(e => e.Kind == ProxEventKinds.BreakerOpened).Detail);
    }

    [Fact]
    public void OpenTimeOver_HalfOpen_PublishesTrialPermits_SuccessfulTrialsClose()
    {
        var (actor, parent, events) = Start();
        Trip(actor, parent);
        events.ExpectMsg<ProxEvent>(e => e.Kind == ProxEventKinds.BreakerOpened);

        Scheduler.Advance(TimeSpan.FromMilliseconds(999));
        parent.ExpectNoMsg(TimeSpan.FromMilliseconds(100));
        Scheduler.Advance(TimeSpan.FromMilliseconds(1));
        var half = parent.ExpectMsg<BackendAvailabilityChanged>();
        Assert.True(half.Available);
        Assert.NotNull(half.Trials);
        Assert.Equal(2, half.Trials!.Remaining);
        Assert.Contains("2 trial request(s)", events.ExpectMsg<ProxEvent>(e => e.Kind == ProxEventKinds.BreakerHalfOpen).Detail);

        // the request path takes both permits; a third caller is refused
        Assert.True(half.Trials.TryAcquire());
        Assert.True(half.Trials.TryAcquire());
        Assert.False(half.Trials.TryAcquire());

        actor.Tell(Ok with { Trial = half.Trials });
        parent.ExpectNoMsg(TimeSpan.FromMilliseconds(100)); // one of two trials
        actor.Tell(Ok with { Trial = half.Trials });
        var closed = parent.ExpectMsg<BackendAvailabilityChanged>();
        Assert.True(closed.Available);
        Assert.Null(closed.Trials);
        Assert.Equal(ProxEventKinds.BreakerClosed, events.ExpectMsg<ProxEvent>().Kind);
        Assert.Equal(("closed", 0), (Breaker(actor).State, Breaker(actor).Openings));
    }

    [Fact]
    public void FailedTrial_Reopens_OpenTimeDoublesUpToMax()
    {
        var (actor, parent, events) = Start();
        Trip(actor, parent);
        var expected = new[] { 1, 2, 4, 4 }; // seconds: doubling, capped by max-open
        for (var opening = 0; opening < expected.Length; opening++)
        {
            Assert.Equal(expected[opening], Math.Round((Breaker(actor).OpenUntil!.Value - Scheduler.Now).TotalSeconds, 3));
            Scheduler.Advance(TimeSpan.FromSeconds(expected[opening]));
            var half = parent.ExpectMsg<BackendAvailabilityChanged>();
            Assert.True(half.Trials!.TryAcquire());
            actor.Tell(Fail with { Trial = half.Trials });
            var reopened = parent.ExpectMsg<BackendAvailabilityChanged>();
            Assert.False(reopened.Available);
        }
        var opened = events.ReceiveN(1 + 2 * expected.Length).Cast<ProxEvent>().Where(e => e.Kind == ProxEventKinds.BreakerOpened).ToList();
        Assert.Equal(5, opened.Count);
        Assert.Contains("trial request failed", opened[^1].Detail);
    }

    [Fact]
    public void HalfOpen_IgnoresResultsOfRequestsAdmittedBeforeIt()
    {
        var (actor, parent, _) = Start();
        Trip(actor, parent);
        Scheduler.Advance(TimeSpan.FromSeconds(1));
        var half = parent.ExpectMsg<BackendAvailabilityChanged>();

        // late answers from before the opening, or from an older half-open period, are not trials
        actor.Tell(Fail);
        actor.Tell(Fail with { Trial = new HalfOpenPermits(1) });
        actor.Tell(Ok);
        parent.ExpectNoMsg(TimeSpan.FromMilliseconds(100));
        Assert.Equal("half-open", Breaker(actor).State);
        Assert.Same(half.Trials, half.Trials); // still the same period
    }

    [Fact]
    public void TrialNeverReported_AfterDeadline_FreshPermits()
    {
        var (actor, parent, _) = Start();
        Trip(actor, parent);
        Scheduler.Advance(TimeSpan.FromSeconds(1));
        var half = parent.ExpectMsg<BackendAvailabilityChanged>();
        Assert.True(half.Trials!.TryAcquire());
        Assert.True(half.Trials.TryAcquire());
        actor.Tell(Ok with { Trial = half.Trials });
        actor.Tell(new RequestOutcome(OutcomeKind.ClientAbort, 0, TimeSpan.Zero) { Trial = half.Trials }); // client left

        // attempt timeout (5 s) + grace (1 s): the lost trial is handed out again; the success already counted
        Scheduler.Advance(TimeSpan.FromSeconds(6) - TimeSpan.FromMilliseconds(1));
        parent.ExpectNoMsg(TimeSpan.FromMilliseconds(100));
        Scheduler.Advance(TimeSpan.FromMilliseconds(1));
        var fresh = parent.ExpectMsg<BackendAvailabilityChanged>();
        Assert.True(fresh.Available);
        Assert.NotSame(half.Trials, fresh.Trials);
        Assert.Equal(1, fresh.Trials!.Remaining);

        Assert.True(fresh.Trials.TryAcquire());
        actor.Tell(Ok with { Trial = fresh.Trials });
        Assert.Null(parent.ExpectMsg<BackendAvailabilityChanged>().Trials); // closed
        Assert.Equal("closed", Breaker(actor).State);
    }

    [Fact]
    public void TrialDeadline_NoTrafficYet_KeepsPermits()
    {
        var (actor, parent, _) = Start();
        Trip(actor, parent);
        Scheduler.Advance(TimeSpan.FromSeconds(1));
        parent.ExpectMsg<BackendAvailabilityChanged>();
        Scheduler.Advance(TimeSpan.FromSeconds(20)); // quiet route: nobody took a permit, nothing to replace
        parent.ExpectNoMsg(TimeSpan.FromMilliseconds(100));
        Assert.Equal(("half-open", 2), (Breaker(actor).State, Breaker(actor).TrialsLeft));
    }

    private sealed class ScriptedProber : IHealthProber
    {
        public ConcurrentQueue<bool> Script { get; } = new();
        public int Calls;

        public Task<ProbeOutcome> ProbeAsync(Uri backend, HealthConfig cfg, DateTimeOffset now)
        {
            Interlocked.Increment(ref Calls);
            var ok = !Script.TryDequeue(out var next) || next;
            return Task.FromResult(new ProbeOutcome(
                new ProbeResult(now, ok ? 200 : 503, TimeSpan.FromMilliseconds(3), ok ? null : "scripted failure"), null));
        }
    }

    [Fact]
    public void PassingHealthCheckWhileOpen_HalfOpensNeverCloses()
    {
        var health = HealthConfig.Default with { Interval = TimeSpan.FromMilliseconds(500), Jitter = 0 };
        var prober = new ScriptedProber();
        var (actor, parent, events) = Start(Cfg with { OpenFor = TimeSpan.FromSeconds(30), MaxOpen = TimeSpan.FromSeconds(30) },
            prober, health);
        Scheduler.Advance(TimeSpan.FromMilliseconds(1));
        AwaitCondition(() => Volatile.Read(ref prober.Calls) >= 1);
        AwaitAssert(() => Assert.Equal(1, Status(actor).Health!.Checks));

        Trip(actor, parent);
        events.ExpectMsg<ProxEvent>(e => e.Kind == ProxEventKinds.BreakerOpened);
        Scheduler.Advance(TimeSpan.FromMilliseconds(500)); // next check passes, long before the 30 s open time
        var half = parent.ExpectMsg<BackendAvailabilityChanged>();
        Assert.True(half.Available);
        Assert.NotNull(half.Trials);
        Assert.Contains("health check passed", events.ExpectMsg<ProxEvent>(e => e.Kind == ProxEventKinds.BreakerHalfOpen).Detail);
        Assert.Equal("half-open", Breaker(actor).State);

        // a failing check while half-open reopens, with the next (doubled) open time
        prober.Script.Enqueue(false);
        Scheduler.Advance(TimeSpan.FromMilliseconds(500));
        Assert.False(parent.ExpectMsg<BackendAvailabilityChanged>().Available);
        Assert.Contains("health check failed", events.ExpectMsg<ProxEvent>(e => e.Kind == ProxEventKinds.BreakerOpened).Detail);
    }

    [Fact]
    public void WithBreaker_PassiveEjectionDoesNotApply()
    {
        // five failures would eject under passive defaults; with a breaker of 10 nothing happens yet
        var (actor, parent, _) = Start(Cfg with { ConsecutiveFailures = 10, MinimumRequests = 100 });
        for (var i = 0; i < 9; i++) actor.Tell(Fail);
        parent.ExpectNoMsg(TimeSpan.FromMilliseconds(150));
        var status = Status(actor);
        Assert.Equal(("up", 9, 0), (status.State, status.Breaker!.ConsecutiveFailures, status.Ejections));
        Assert.Equal(9, status.Failures);
    }
}
