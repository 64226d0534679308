using System.Collections.Concurrent;
using Akka.Actor;
using Akka.Event;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using Prox.Actors.Backends;
using Prox.Actors.Config;
using Prox.Actors.Events;
using Prox.Actors.Health;
using Xunit;

namespace Prox.Tests.Health;

/// <summary>The BackendActor's active health checks, driven in virtual time by a scripted prober.</summary>
public class BackendHealthActorTests : TestKit
{
    private static readonly HealthConfig Cfg = HealthConfig.Default with
    {
        Interval = TimeSpan.FromSeconds(10),
        UnhealthyInterval = TimeSpan.FromSeconds(2),
        MaxUnhealthyInterval = TimeSpan.FromSeconds(8),
        HealthyAfter = 2,
        UnhealthyAfter = 2,
        Jitter = 0,
    };

    public BackendHealthActorTests()
        : base("akka.scheduler.implementation = \"Akka.TestKit.TestScheduler, Akka.TestKit\"")
    {
    }

    private TestScheduler Scheduler => (TestScheduler)Sys.Scheduler;

    /// <summary>Answers each probe with the next scripted verdict (ok while the script is empty) and records when.</summary>
    private sealed class ScriptedProber : IHealthProber
    {
        public ConcurrentQueue<bool> Script { get; } = new();
        public ConcurrentQueue<DateTimeOffset> Calls { get; } = new();

        public Task<ProbeOutcome> ProbeAsync(Uri backend, HealthConfig cfg, DateTimeOffset now)
        {
            Calls.Enqueue(now);
            var ok = !Script.TryDequeue(out var next) || next;
            return Task.FromResult(new ProbeOutcome(
                new ProbeResult(now, ok ? 200 : 503, TimeSpan.FromMilliseconds(3), ok ? null : "scripted failure"), null));
        }
    }

    private (IActorRef Actor, TestProbe Parent, TestProbe Events, ScriptedProber Prober) Start()
    {
        var prober = new ScriptedProber();
        var events = CreateTestProbe();
        Sys.EventStream.Subscribe<ProxEvent>(events);
        // a first passing check is announced as an initial backend-up (for the Notifier); these tests look at changes
        events.IgnoreMessages<ProxEvent>(e => e is { Initial: true, Kind: ProxEventKinds.BackendUp });
        var live = new BackendLive("r", new BackendConfig("b1", new Uri("http://127.0.0.1:1"), 1, null) { Health = Cfg });
        var parent = CreateTestProbe();
        var actor = parent.ChildActorOf(BackendActor.Props(live, PassiveConfig.Default, prober));
        _actor = actor;
        parent.ExpectMsg<BackendAvailabilityChanged>(m => m.Available);
        return (actor, parent, events, prober);
    }

    private IActorRef _actor = ActorRefs.Nobody;

    /// <summary>Advances virtual time, then waits until the actor has processed <paramref name="calls"/> probe
    /// results in all (so its next probe timer is set before time moves again).</summary>
    private void AdvanceTo(ScriptedProber prober, TimeSpan by, int calls)
    {
        Scheduler.Advance(by);
        AwaitCondition(() => prober.Calls.Count >= calls, TimeSpan.FromSeconds(3));
        AwaitCondition(() => _actor.Ask<BackendStatus>(GetBackendStatus.Instance, TimeSpan.FromSeconds(3)).Result.Health!.Checks >= calls,
            TimeSpan.FromSeconds(3));
    }

    [Fact]
    public void FailingChecks_FallAfterUnhealthyAfter_ThenRiseAfterHealthyAfter()
    {
        var (actor, parent, events, prober) = Start();
        prober.Script.Enqueue(false);
        prober.Script.Enqueue(false);

        AdvanceTo(prober, TimeSpan.FromMilliseconds(1), 1);   // first probe right after start: fails
        parent.ExpectNoMsg(TimeSpan.FromMilliseconds(100));    // one failure is not enough
        AdvanceTo(prober, TimeSpan.FromSeconds(10), 2);        // second failure (still at the healthy interval)
        var down = parent.ExpectMsg<BackendAvailabilityChanged>();
        Assert.False(down.Available);
        var downEvent = events.ExpectMsg<ProxEvent>();
        Assert.Equal((ProxEventKinds.BackendDown, "r", "b1"), (downEvent.Kind, downEvent.Route, downEvent.Backend));
        Assert.Contains("scripted failure", downEvent.Detail);

        actor.Tell(GetBackendStatus.Instance);
        var status = ExpectMsg<BackendStatus>();
        Assert.Equal("down", status.State);
        Assert.False(status.Healthy);
        Assert.Equal(2, status.Health!.ConsecutiveFailed);
        Assert.Equal(0, status.Health.UptimePercent);

        AdvanceTo(prober, TimeSpan.FromSeconds(2), 3);         // down: unhealthy interval; this one passes
        parent.ExpectNoMsg(TimeSpan.FromMilliseconds(100));    // one ok is not enough
        AdvanceTo(prober, TimeSpan.FromSeconds(2), 4);
        Assert.True(parent.ExpectMsg<BackendAvailabilityChanged>().Available);
        Assert.Equal(ProxEventKinds.BackendUp, events.ExpectMsg<ProxEvent>().Kind);
    }

    [Fact]
    public void FirstVerdicts_MarkedInitial_LaterChangesNot()
    {
        var all = CreateTestProbe();
        Sys.EventStream.Subscribe<ProxEvent>(all);
        var (_, parent, _, prober) = Start();
        prober.Script.Enqueue(false);
        prober.Script.Enqueue(false);

        AdvanceTo(prober, TimeSpan.FromMilliseconds(1), 1);
        AdvanceTo(prober, TimeSpan.FromSeconds(10), 2);        // down before any check passed: down from the start
        Assert.False(parent.ExpectMsg<BackendAvailabilityChanged>().Available);
        Assert.Equal((ProxEventKinds.BackendDown, true), all.ExpectMsg<ProxEvent>() is var down ? (down.Kind, down.Initial) : default);
        AdvanceTo(prober, TimeSpan.FromSeconds(2), 3);
        AdvanceTo(prober, TimeSpan.FromSeconds(2), 4);
        Assert.True(parent.ExpectMsg<BackendAvailabilityChanged>().Available);
        Assert.Equal((ProxEventKinds.BackendUp, false), all.ExpectMsg<ProxEvent>() is var up ? (up.Kind, up.Initial) : default);
    }

    [Fact]
    public void FirstCheckPasses_InitialBackendUpPublished_OnlyOnce()
    {
        var all = CreateTestProbe();
        Sys.EventStream.Subscribe<ProxEvent>(all);
        var (_, parent, _, prober) = Start();

        AdvanceTo(prober, TimeSpan.FromMilliseconds(1), 1);
        var first = all.ExpectMsg<ProxEvent>();
        Assert.Equal((ProxEventKinds.BackendUp, true, "b1"), (first.Kind, first.Initial, first.Backend));
        AdvanceTo(prober, TimeSpan.FromSeconds(10), 2);
        all.ExpectNoMsg(TimeSpan.FromMilliseconds(100));
        parent.ExpectNoMsg(TimeSpan.FromMilliseconds(10));
    }

    [Fact]
    public void WhileDown_ProbeIntervalBacksOffExponentially_UpToMax()
    {
        var (_, parent, _, prober) = Start();
        for (var i = 0; i < 10; i++) prober.Script.Enqueue(false);

        AdvanceTo(prober, TimeSpan.FromMilliseconds(1), 1);
        AdvanceTo(prober, TimeSpan.FromSeconds(10), 2);
        parent.ExpectMsg<BackendAvailabilityChanged>(m => !m.Available);
        // after the fall: 2 s, 4 s, 8 s, then capped at 8 s
        foreach (var (wait, total) in new[] { (2, 3), (4, 4), (8, 5), (8, 6) })
        {
            Scheduler.Advance(TimeSpan.FromSeconds(wait) - TimeSpan.FromMilliseconds(10));
            Assert.Equal(total - 1, prober.Calls.Count); // not yet
            AdvanceTo(prober, TimeSpan.FromMilliseconds(10), total);
        }
        var calls = prober.Calls.ToArray();
        Assert.Equal([2.0, 4.0, 8.0, 8.0], calls.Skip(2).Zip(calls.Skip(1), (b, a) => Math.Round((b - a).TotalSeconds, 1)));
    }

    [Fact]
    public void DownByHealth_NotReturnedByEjectionTimer()
    {
        var (actor, parent, _, prober) = Start();
        prober.Script.Enqueue(false);
        prober.Script.Enqueue(false);
        AdvanceTo(prober, TimeSpan.FromMilliseconds(1), 1);
        AdvanceTo(prober, TimeSpan.FromSeconds(10), 2);
        parent.ExpectMsg<BackendAvailabilityChanged>(m => !m.Available);

        // passive ejection and its end do not make a backend that fails its checks available
        for (var i = 0; i < 5; i++) actor.Tell(new RequestOutcome(OutcomeKind.ConnectFailure, 0, TimeSpan.Zero));
        for (var i = 0; i < 5; i++) prober.Script.Enqueue(false);
        Scheduler.Advance(TimeSpan.FromSeconds(11));
        parent.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
    }

    [Fact]
    public void EjectedByTraffic_PassingHealthCheck_ReturnsOnProbationBeforeEjectTime()
    {
        var (actor, parent, events, prober) = Start();
        AdvanceTo(prober, TimeSpan.FromMilliseconds(1), 1); // first probe passes
        Scheduler.Advance(TimeSpan.FromSeconds(5));

        for (var i = 0; i < 5; i++) actor.Tell(new RequestOutcome(OutcomeKind.ConnectFailure, 0, TimeSpan.Zero));
        Assert.False(parent.ExpectMsg<BackendAvailabilityChanged>().Available); // ejected for 10 s, until t = 15 s
        Assert.Equal(ProxEventKinds.BackendEjected, events.ExpectMsg<ProxEvent>().Kind);

        AdvanceTo(prober, TimeSpan.FromSeconds(5), 2); // the next check (t = 10 s) passes: back 5 s early
        Assert.True(parent.ExpectMsg<BackendAvailabilityChanged>().Available);
        var back = events.ExpectMsg<ProxEvent>();
        Assert.Equal(ProxEventKinds.BackendReturned, back.Kind);
        Assert.Contains("health check passed", back.Detail);

        // on probation: one failure ejects again, for twice as long
        actor.Tell(new RequestOutcome(OutcomeKind.ConnectFailure, 0, TimeSpan.Zero));
        var again = parent.ExpectMsg<BackendAvailabilityChanged>();
        Assert.False(again.Available);
        Assert.Equal(TimeSpan.FromSeconds(20), again.EjectedUntil - Scheduler.Now);
    }
}
