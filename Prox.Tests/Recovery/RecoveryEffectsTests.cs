using Prox.Actors.Events;
using Prox.Actors.Recovery;
using Prox.Actors.Timing;
using Xunit;

namespace Prox.Tests.Recovery;

/// <summary>The effects the recovery tracker hands its actor besides state and events: its timer, and a restart's verdict.</summary>
public class RecoveryEffectsTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 26, 10, 0, 0, TimeSpan.Zero);

    private static readonly RecoveryConfig Cfg = RecoveryConfig.Default with
    {
        After = TimeSpan.FromSeconds(30),
        Backoff = TimeSpan.FromSeconds(10),
        MaxBackoff = TimeSpan.FromSeconds(60),
        Command = ["/bin/true"],
    };

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
