using System.Collections.Immutable;
using Prox.Actors.Backends;
using Prox.Actors.Breaker;
using Prox.Actors.Cluster;
using Xunit;

namespace Prox.Tests.Cluster;

/// <summary>The entity hands other nodes' outcomes to the backend's actor in that actor's own protocol.</summary>
public sealed class BackendShardMessagesTests
{
    [Fact]
    public void ToRecordOutcomes_KeepsTheRunsInOrder()
    {
        ImmutableArray<OutcomeRun> runs = [new(OutcomeKind.Timeout, 0, 1, 1_000_000), new(OutcomeKind.Success, 200, 3, 5_000)];
        Assert.Equal(runs.ToArray(), new OutcomeBatch("r/b1", runs).ToRecordOutcomes().Runs.ToArray());
    }

    [Fact]
    public void ToRequestOutcome_CarriesKindStatusLatencyAndPermits()
    {
        var permits = new HalfOpenPermits(1);
        var o = new TrialOutcome("r/b1", OutcomeKind.GatewayStatus, 503, 2_500) { Trial = permits }.ToRequestOutcome();
        Assert.Equal(new RequestOutcome(OutcomeKind.GatewayStatus, 503, TimeSpan.FromMilliseconds(2.5)) { Trial = permits }, o);
    }
}
