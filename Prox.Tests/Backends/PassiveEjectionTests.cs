using Prox.Actors.Backends;
using Prox.Actors.Config;
using Xunit;

namespace Prox.Tests.Backends;

public class PassiveEjectionTests
{
    private static readonly PassiveConfig Cfg = new(3, TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(60));
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public void OnFailure_BelowThreshold_StaysUp()
    {
        var s = PassiveEjection.OnFailure(PassiveState.Initial, T0, Cfg);
        s = PassiveEjection.OnFailure(s, T0, Cfg);
        Assert.False(s.IsEjected);
        Assert.Equal(2, s.ConsecutiveFailures);
    }

    [Fact]
    public void OnFailure_AtThreshold_EjectsForEjectFor()
    {
        var s = PassiveState.Initial;
        for (var i = 0; i < 3; i++) s = PassiveEjection.OnFailure(s, T0, Cfg);
        Assert.Equal(T0 + TimeSpan.FromSeconds(10), s.EjectedUntil);
        Assert.Equal(1, s.Ejections);
    }

    [Fact]
    public void OnSuccess_ResetsConsecutiveFailures()
    {
        var s = PassiveEjection.OnFailure(PassiveEjection.OnFailure(PassiveState.Initial, T0, Cfg), T0, Cfg);
        s = PassiveEjection.OnSuccess(s);
        s = PassiveEjection.OnFailure(PassiveEjection.OnFailure(s, T0, Cfg), T0, Cfg);
        Assert.False(s.IsEjected);
    }

    [Fact]
    public void OnTimer_BeforeUntil_KeepsEjected_AfterUntil_ReturnsOnProbation()
    {
        var s = Eject(PassiveState.Initial, T0);
        Assert.True(PassiveEjection.OnTimer(s, T0 + TimeSpan.FromSeconds(9)).IsEjected);
        var back = PassiveEjection.OnTimer(s, T0 + TimeSpan.FromSeconds(10));
        Assert.False(back.IsEjected);
        Assert.True(back.Probation);
    }

    [Fact]
    public void OnFailure_OnProbation_ReejectsAtOnceWithDoubledTime()
    {
        var s = PassiveEjection.OnTimer(Eject(PassiveState.Initial, T0), T0 + TimeSpan.FromSeconds(10));
        var t1 = T0 + TimeSpan.FromSeconds(11);
        s = PassiveEjection.OnFailure(s, t1, Cfg);
        Assert.Equal(t1 + TimeSpan.FromSeconds(20), s.EjectedUntil);
        Assert.Equal(2, s.Ejections);
    }

    [Fact]
    public void OnSuccess_OnProbation_EndsProbation_ThresholdAppliesAgain()
    {
        var s = PassiveEjection.OnTimer(Eject(PassiveState.Initial, T0), T0 + TimeSpan.FromSeconds(10));
        s = PassiveEjection.OnSuccess(s);
        Assert.False(s.Probation);
        s = PassiveEjection.OnFailure(s, T0 + TimeSpan.FromSeconds(12), Cfg);
        Assert.False(s.IsEjected);
    }

    [Fact]
    public void OnSuccess_WhileEjected_DoesNotEndEjection()
    {
        var s = Eject(PassiveState.Initial, T0);
        Assert.True(PassiveEjection.OnSuccess(s).IsEjected);
    }

    [Fact]
    public void OnFailure_LongAfterLastReturn_StartsFreshStreak()
    {
        var s = PassiveEjection.OnTimer(Eject(PassiveState.Initial, T0), T0 + TimeSpan.FromSeconds(10));
        s = PassiveEjection.OnSuccess(s);
        var later = T0 + TimeSpan.FromSeconds(10 + 61);
        s = Eject(s, later);
        Assert.Equal(1, s.Ejections);
        Assert.Equal(later + TimeSpan.FromSeconds(10), s.EjectedUntil);
    }

    [Theory]
    [InlineData(1, 10)]
    [InlineData(2, 20)]
    [InlineData(3, 40)]
    [InlineData(4, 60)]
    [InlineData(40, 60)]
    public void EjectionTime_DoublesAndCaps(int ejections, int seconds) =>
        Assert.Equal(TimeSpan.FromSeconds(seconds), PassiveEjection.EjectionTime(ejections, Cfg));

    private static PassiveState Eject(PassiveState s, DateTimeOffset at)
    {
        for (var i = 0; i < 3 && !s.IsEjected; i++) s = PassiveEjection.OnFailure(s, at, Cfg);
        return s;
    }
}
