using Prox.Actors.Events;
using Prox.Actors.Recovery;
using Prox.Actors.Timing;
using Xunit;

namespace Prox.Tests.Recovery;

/// <summary>The pure recovery rules: when attempts run, how they back off, and how each is judged.</summary>
public sealed class RecoveryPolicyTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 26, 10, 0, 0, TimeSpan.Zero);

    private static readonly RecoveryConfig Cfg = RecoveryConfig.Default with
    {
        After = TimeSpan.FromSeconds(30),
        Backoff = TimeSpan.FromSeconds(10),
        MaxBackoff = TimeSpan.FromSeconds(60),
        Command = ["/bin/true"],
    };

    private static readonly RecoveryActionResult Ok = new(true, "exit code 0", TimeSpan.FromSeconds(1));
    private static readonly RecoveryActionResult Failed = new(false, "exit code 3", TimeSpan.FromSeconds(1));

    private static DateTimeOffset At(double seconds) => T0 + TimeSpan.FromSeconds(seconds);

    /// <summary>A tiny script: "down@0" (availability), "timer@30", "ok@31"/"fail@31" (result of the running attempt).</summary>
    private static (RecoveryState State, List<string> Log) Run(RecoveryConfig cfg, params string[] script)
    {
        var s = RecoveryState.Initial;
        var log = new List<string>();
        foreach (var line in script)
        {
            var (what, at) = (line.Split('@')[0], At(double.Parse(line.Split('@')[1], System.Globalization.CultureInfo.InvariantCulture)));
            var step = what switch
            {
                "down" => RecoveryPolicy.OnAvailability(s, false, at, cfg),
                "up" => RecoveryPolicy.OnAvailability(s, true, at, cfg),
                "timer" => RecoveryPolicy.OnTimer(s, at, cfg, 0.5),
                "ok" => RecoveryPolicy.OnActionResult(s, s.Pending?.Number ?? 0, Ok, at, cfg),
                "fail" => RecoveryPolicy.OnActionResult(s, s.Pending?.Number ?? 0, Failed, at, cfg),
                _ => throw new ArgumentException(line),
            };
            log.AddRange(step.Events.Select(e => e.Kind switch
            {
                ProxEventKinds.RecoveryAttempted => "attempted",
                ProxEventKinds.RecoverySucceeded => "succeeded",
                ProxEventKinds.RecoveryFailed => "failed",
                var k => k,
            }));
            if (step.RunAction) log.Add("run"); // the actor publishes the step's events, then starts the action
            s = step.State;
        }
        return (s, log);
    }

    [Theory]
    // the backend returns before `after`: no attempt, nothing counted
    [InlineData("down@0 up@29 timer@30", "", 0, 0, 0)]
    // a timer that fires a tick early does nothing
    [InlineData("down@0 timer@29.9", "", 0, 0, 0)]
    // down for `after`: one attempt; its action ok and the backend back before the next is due: success
    [InlineData("down@0 timer@30 ok@31 up@35", "run attempted succeeded", 1, 1, 0)]
    // the backend came back while the action still ran: success once the ok result arrives
    [InlineData("down@0 timer@30 up@31 ok@32", "run attempted succeeded", 1, 1, 0)]
    // the action failed: failure at once, even if the backend comes back by itself later
    [InlineData("down@0 timer@30 fail@31 up@35", "run attempted failed", 1, 0, 1)]
    // the action failed but the backend came back meanwhile: still a failure (the action did not do it)
    [InlineData("down@0 timer@30 up@31 fail@32", "run attempted failed", 1, 0, 1)]
    // action ok but still down when the next is due (30 + 10 s): failure, and the next attempt starts
    [InlineData("down@0 timer@30 ok@31 timer@40", "run attempted failed run", 2, 0, 1)]
    // second attempt works: 1 failure, 1 success
    [InlineData("down@0 timer@30 ok@31 timer@40 ok@41 up@42", "run attempted failed run attempted succeeded", 2, 1, 1)]
    // a failed action, then the next attempt is still at its due time (no double verdict)
    [InlineData("down@0 timer@30 fail@31 timer@40 ok@41 up@43", "run attempted failed run attempted succeeded", 2, 1, 1)]
    // the timer while the action still runs does nothing; the late result is judged, the due attempt follows
    [InlineData("down@0 timer@30 timer@40 ok@45 timer@45", "run attempted failed run", 2, 0, 1)]
    // repeated availability reports are no-ops
    [InlineData("up@0 down@0 down@10 timer@30", "run", 1, 0, 0)]
    public void Script_ProducesActionsEventsAndCounts(string script, string expected, int attempts, int successes, int failures)
    {
        var (s, log) = Run(Cfg, script.Split(' '));

        Assert.Equal(expected, string.Join(' ', log));
        Assert.Equal((attempts, successes, failures), (s.Attempts, s.Successes, s.Failures));
    }

    [Fact]
    public void OnAvailability_Down_SchedulesFirstAttemptAfterAfter()
    {
        var (s, _) = Run(Cfg, "down@5");

        Assert.Equal(At(5), s.DownSince);
        Assert.Equal(At(35), s.NextAttemptAt);
        Assert.Null(s.SuccessRate);
    }

    [Fact]
    public void Success_ClosesOutage_ReportsDownTimeAndRate()
    {
        var s = Run(Cfg, "down@0", "timer@30", "ok@31").State;
        var step = RecoveryPolicy.OnAvailability(s, true, At(37), Cfg);

        Assert.Equal(1.0, step.State.SuccessRate);
        Assert.Null(step.State.DownSince);
        Assert.Null(step.State.NextAttemptAt);
        Assert.Equal("backend available again after 1 attempt; down for 37 s", Assert.Single(step.Events).Detail);
        Assert.Equal(new FinishedAttempt(1, At(30), true, "exit code 0"), step.State.LastAttempt);
    }

    [Fact]
    public void NextOutage_StartsBackoffAndAttemptNumbersAfresh()
    {
        var s = Run(Cfg, "down@0", "timer@30", "ok@31", "timer@40", "ok@41", "up@42", "down@100").State;
        var step = RecoveryPolicy.OnTimer(s, At(130), Cfg, 0.5);

        Assert.Equal(1, step.State.Pending!.Number);
        Assert.Equal(At(140), step.State.NextAttemptAt); // base backoff again, not the doubled one
        Assert.Equal(3, step.State.Attempts);           // lifetime count keeps going
    }

    [Fact]
    public void StaleResult_ForAnotherAttempt_Ignored()
    {
        var s = Run(Cfg, "down@0", "timer@30").State;
        var step = RecoveryPolicy.OnActionResult(s, 7, Ok, At(31), Cfg);

        Assert.Same(s, step.State);
        Assert.Empty(step.Events);
    }

    [Theory]
    // attempt n → backoff × 2^(n-1), capped at max-backoff (10 s, 60 s cap)
    [InlineData(1, 0.5, 10)]
    [InlineData(2, 0.5, 20)]
    [InlineData(3, 0.5, 40)]
    [InlineData(4, 0.5, 60)]
    [InlineData(40, 0.5, 60)]
    // ±10% jitter, applied after the cap
    [InlineData(1, 0.0, 9)]
    [InlineData(1, 1.0, 11)]
    [InlineData(4, 1.0, 66)]
    // out-of-range randomness is clamped
    [InlineData(1, 7.0, 11)]
    [InlineData(1, double.NaN, 10)]
    public void NextDelay_DoublesUpToCap_WithJitter(int attempt, double random01, double expectedSeconds)
    {
        Assert.Equal(TimeSpan.FromSeconds(expectedSeconds), RecoveryPolicy.NextDelay(attempt, Cfg, random01));
    }

    [Fact]
    public void NextDelay_NoBackoffSet_UsesAfter()
    {
        var cfg = Cfg with { Backoff = null, After = TimeSpan.FromSeconds(30) };

        Assert.Equal(TimeSpan.FromSeconds(30), RecoveryPolicy.NextDelay(1, cfg, 0.5));
        Assert.Equal(TimeSpan.FromSeconds(60), RecoveryPolicy.NextDelay(2, cfg, 0.5));
    }

    [Theory]
    [InlineData(0, 0, null)]
    [InlineData(1, 0, 1.0)]
    [InlineData(0, 2, 0.0)]
    [InlineData(3, 1, 0.75)]
    public void SuccessRate_SuccessesOverJudgedAttempts(int successes, int failures, double? expected)
    {
        var s = RecoveryState.Initial with { Successes = successes, Failures = failures, Attempts = successes + failures };

        Assert.Equal(expected, s.SuccessRate);
    }

    // ---- effects besides state and events: the timer, and a restart's verdict ----

    private static readonly RecoveryState Down = RecoveryPolicy.OnAvailability(RecoveryState.Initial, false, T0, Cfg).State;

    [Theory]
    // seconds after going down → timer delay in ms (null: cancelled)
    [InlineData(0, 30_000.0)]
    [InlineData(29.5, 500.0)]
    [InlineData(30, 1.0)]      // due now: the next tick, never a zero or negative delay
    [InlineData(45, 1.0)]
    public void Timer_WhileDown_ArmedForTheNextAttempt(double afterSeconds, double expectedMs) =>
        Assert.Equal(TimerChange.Start(RecoveryPolicy.TimerKey, TimeSpan.FromMilliseconds(expectedMs)),
            RecoveryPolicy.Timer(Down, T0 + TimeSpan.FromSeconds(afterSeconds)));

    [Fact]
    public void Timer_UpOrActionRunning_Cancelled()
    {
        Assert.Equal(TimerChange.Cancel(RecoveryPolicy.TimerKey), RecoveryPolicy.Timer(RecoveryState.Initial, T0));
        var running = RecoveryPolicy.OnTimer(Down, T0 + TimeSpan.FromSeconds(30), Cfg, 0.5);
        Assert.True(running.RunAction);
        Assert.Equal(TimerChange.Cancel(RecoveryPolicy.TimerKey), RecoveryPolicy.Timer(running.State, T0 + TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public void OnRestart_ActionWasRunning_JudgedFailed()
    {
        var running = RecoveryPolicy.OnTimer(Down, T0 + TimeSpan.FromSeconds(30), Cfg, 0.5).State;

        var step = RecoveryPolicy.OnRestart(running, T0 + TimeSpan.FromSeconds(31), Cfg);

        Assert.Equal([ProxEventKinds.RecoveryAttempted, ProxEventKinds.RecoveryFailed], step.Events.Select(e => e.Kind));
        Assert.Contains("restarted while the action ran", step.Events[0].Detail);
        Assert.Null(step.State.Pending);
        Assert.Equal(1, step.State.Failures);
    }

    [Fact]
    public void OnRestart_NothingRunning_SameState() =>
        Assert.Same(Down, RecoveryPolicy.OnRestart(Down, T0, Cfg).State);
}
