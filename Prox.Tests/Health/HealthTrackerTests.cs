using Prox.Actors.Events;
using Prox.Actors.Health;
using Prox.Actors.Timing;
using Xunit;

namespace Prox.Tests.Health;

/// <summary>Health checks as a pure tracker: probe outcomes in; state, events and the next probe's timer out.</summary>
public class HealthTrackerTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly HealthConfig Cfg = HealthConfig.Default with { Jitter = 0 };

    private static ProbeOutcome Probe(int i, int status) =>
        new(new ProbeResult(T0 + TimeSpan.FromSeconds(i), status, TimeSpan.FromMilliseconds(5), status == 0 ? "connection refused" : null), null);

    [Theory]
    // statuses probed from healthy → events of the last probe, next interval (s)
    [InlineData(new[] { 200 }, new string[0], 10)]
    [InlineData(new[] { 503, 503 }, new string[0], 10)]
    [InlineData(new[] { 503, 503, 503 }, new[] { ProxEventKinds.BackendDown }, 2)]
    [InlineData(new[] { 0, 0, 0, 0 }, new string[0], 4)]
    [InlineData(new[] { 503, 503, 503, 200, 200 }, new[] { ProxEventKinds.BackendUp }, 10)]
    public void OnProbe_Table(int[] statuses, string[] lastEvents, int nextSeconds)
    {
        var s = HealthState.Initial(Cfg);
        HealthStep? step = null;
        for (var i = 0; i < statuses.Length; i++)
        {
            step = HealthTracker.OnProbe(s, Probe(i, statuses[i]), Cfg, 0.5);
            s = step.State;
        }

        Assert.Equal(lastEvents, step!.Events.Select(e => e.Kind));
        Assert.Equal(TimerChange.Start(HealthTracker.ProbeTimer, TimeSpan.FromSeconds(nextSeconds)), step.NextProbe);
        Assert.Equal(statuses[^1] == 200, step.Ok);
    }

    [Fact]
    public void OnProbe_Down_DetailNamesTheLastFailure()
    {
        var s = HealthState.Initial(Cfg);
        HealthStep step = null!;
        for (var i = 0; i < 3; i++) s = (step = HealthTracker.OnProbe(s, Probe(i, 0), Cfg, 0.5)).State;

        Assert.Equal("connection refused", step.What);
        Assert.Equal("3 failed health checks in a row (last: connection refused)", Assert.Single(step.Events).Detail);
    }

    [Fact]
    public void OnProbe_Flapping_RaisesUnstableOnce()
    {
        var s = HealthState.Initial(Cfg);
        var unstable = 0;
        // down after 3 failures, up after 2 passes, over and over within the flap window
        var pattern = string.Concat(Enumerable.Repeat("xxxoo", 4));
        for (var i = 0; i < pattern.Length; i++)
        {
            var step = HealthTracker.OnProbe(s, Probe(i, pattern[i] == 'o' ? 200 : 503), Cfg, 0.5);
            unstable += step.Events.Count(e => e.Kind == ProxEventKinds.BackendUnstable);
            s = step.State;
        }
        Assert.True(s.Unstable);
        Assert.Equal(1, unstable);
    }
}
