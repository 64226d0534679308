using Akka.Actor;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using Prox.Actors.Backends;
using Prox.Actors.Breaker;
using Prox.Actors.Config;
using Prox.Actors.Supervision;
using Xunit;

namespace Prox.Tests.Backends;

/// <summary>
/// The request path reports answers on the backend's tally (no message) and failures with a Tell
/// (<see cref="BackendLive.Report"/>); the actor folds the tally. Virtual time: a fold timer only fires when the test
/// advances the clock, so every assertion made before that shows what happens without waiting for it.
/// </summary>
public class OutcomeTallyTests : TestKit
{
    private static readonly PassiveConfig Passive = new(5, TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(60));

    public OutcomeTallyTests()
        : base("akka.scheduler.implementation = \"Akka.TestKit.TestScheduler, Akka.TestKit\"")
    {
    }

    private TestScheduler Scheduler => (TestScheduler)Sys.Scheduler;

    private (IActorRef Actor, TestProbe Parent, BackendLive Live) Start(BreakerConfig? breaker = null)
    {
        var live = new BackendLive("r", new BackendConfig("b1", new Uri("http://127.0.0.1:1"), 1, null) { Breaker = breaker });
        var parent = CreateTestProbe();
        // restarted in place after a crash, from the same memory
        var actor = parent.ChildActorOf(BackendActor.Props(live, Passive), new OneForOneStrategy(_ => Directive.Restart));
        parent.ExpectMsg<BackendAvailabilityChanged>(m => m.Available);
        return (actor, parent, live);
    }

    private static void Answer(BackendLive live, int times, int ms = 10)
    {
        for (var i = 0; i < times; i++) live.Report(OutcomeKind.Success, 200, TimeSpan.FromMilliseconds(ms));
    }

    private static void Fail(BackendLive live, int times)
    {
        for (var i = 0; i < times; i++) live.Report(OutcomeKind.ConnectFailure, 0, TimeSpan.FromMilliseconds(1));
    }

    private BackendStatus Status(IActorRef actor)
    {
        actor.Tell(GetBackendStatus.Instance);
        return ExpectMsg<BackendStatus>();
    }

    [Fact]
    public void Answers_AreCountedWithoutAMessageEach_AndStatusFoldsThem()
    {
        var (actor, _, live) = Start();
        Answer(live, 1000, ms: 20);
        live.Report(OutcomeKind.ClientAbort, 0, TimeSpan.Zero);

        Assert.Equal(1000, live.Tally.Answered);
        Assert.Equal(1, live.Tally.Aborted);
        var s = Status(actor);
        Assert.Equal(1001, s.Requests);
        Assert.Equal(0, s.Failures);
        Assert.InRange(s.LatencyMs.P50, 19, 21);
        Assert.InRange(s.LatencyMs.Ewma, 19, 21);
        // folded once: asking again counts nothing twice
        Assert.Equal(1001, Status(actor).Requests);
    }

    [Fact]
    public void TheFoldTimer_UpdatesTheEwmaTheBalancerReads_AfterFoldDelay()
    {
        var (_, _, live) = Start();
        Answer(live, 50, ms: 40);
        Assert.Equal(0, live.EwmaMicros);

        AwaitAssert(() =>
        {
            Scheduler.Advance(OutcomeTally.FoldDelay);
            Assert.InRange(live.EwmaMicros, 39_000, 41_000);
        }, TimeSpan.FromSeconds(3), TimeSpan.FromMilliseconds(20));
    }

    [Fact]
    public void FailuresEject_AtOnce_WithoutWaitingForAFold()
    {
        var (_, parent, live) = Start();
        Answer(live, 200);
        Fail(live, 5);
        // the clock has not moved: no fold timer fired, and the fifth failure still ejected
        var down = parent.ExpectMsg<BackendAvailabilityChanged>();
        Assert.False(down.Available);
    }

    [Fact]
    public void AnAnswerBetweenFailures_BreaksTheirStreak()
    {
        var (actor, parent, live) = Start();
        Fail(live, 4);
        Answer(live, 1);
        Fail(live, 4);
        parent.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
        Assert.Equal("up", Status(actor).State);

        Fail(live, 1);
        Assert.False(parent.ExpectMsg<BackendAvailabilityChanged>().Available);
    }

    [Fact]
    public void AnswersAfterAFailure_DoNotCountBeforeIt()
    {
        var (_, parent, live) = Start();
        Fail(live, 4);
        // the actor may not have taken the fourth failure yet; answers counted after it must still come after it
        Answer(live, 3);
        Fail(live, 1);
        parent.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
    }

    [Fact]
    public void ARestartedActor_FoldsWhatItsPredecessorLeft_Once()
    {
        var (actor, parent, live) = Start();
        Answer(live, 10);
        actor.Tell(new InjectFault("test"));
        parent.ExpectMsg<BackendAvailabilityChanged>(m => m.Available); // the restarted incarnation announces itself
        Answer(live, 5);
        var s = Status(actor);
        Assert.Equal(15, s.Requests);
        // the due flag was cleared by the new incarnation: the next answer asks for a fold again
        Answer(live, 1);
        AwaitAssert(() =>
        {
            Scheduler.Advance(OutcomeTally.FoldDelay);
            Assert.Equal(16, Status(actor).Requests);
        }, TimeSpan.FromSeconds(3), TimeSpan.FromMilliseconds(20));
    }

    [Fact]
    public void AClosedBreaker_CountsFoldedAnswersInItsFailureRate()
    {
        // opens when half of at least 20 results fail; 5 in a row would open it too, so failures are spread out
        var breaker = BreakerConfig.Default with { ConsecutiveFailures = 0, FailureRateThreshold = 0.5, MinimumRequests = 20 };
        var (_, parent, live) = Start(breaker);
        for (var i = 0; i < 9; i++)
        {
            Answer(live, 2);
            Fail(live, 1);
        }
        // 18 answers, 9 failures: a third failed, under the threshold
        parent.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
        Fail(live, 10);
        // 18 answers, 19 failures: over half
        Assert.False(parent.ExpectMsg<BackendAvailabilityChanged>().Available);
    }

    [Fact]
    public void Trials_AreToldAtOnce_EvenWhenTheyWereAnswered()
    {
        var live = new BackendLive("r", new BackendConfig("b1", new Uri("http://127.0.0.1:1"), 1, null));
        var mailbox = CreateTestProbe();
        live.Mailbox = mailbox.Ref;
        var trials = new HalfOpenPermits(1);
        live.Report(OutcomeKind.Success, 200, TimeSpan.FromMilliseconds(3), trials);
        var told = mailbox.ExpectMsg<RequestOutcome>();
        Assert.Same(trials, told.Trial);
        Assert.Equal(0, told.AnsweredBefore);
        Assert.Equal(0, live.Tally.Answered);

        // an ordinary answer: counted, and one TallyDue for the first since the last fold, none for the next ones
        Answer(live, 3);
        mailbox.ExpectMsg<TallyDue>();
        mailbox.ExpectNoMsg(TimeSpan.FromMilliseconds(100));
        Fail(live, 1);
        Assert.Equal(3, mailbox.ExpectMsg<RequestOutcome>().AnsweredBefore);
    }
}
