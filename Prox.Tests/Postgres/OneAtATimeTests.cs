using Prox.Actors.Persistence;
using Xunit;

namespace Prox.Tests.Postgres;

/// <summary>Trimming deletes one at a time (overlapping deletes deadlock on PostgreSQL): later requests wait, only the highest is kept.</summary>
public sealed class OneAtATimeTests
{
    [Fact]
    public void Request_WhileOneRuns_Deferred_HighestIssuedWhenDone_ThenIdle()
    {
        var trim = new OneAtATime();

        Assert.Equal(3, trim.Request(3));
        Assert.Null(trim.Request(6));
        Assert.Null(trim.Request(9));
        Assert.Null(trim.Request(5));
        Assert.Equal(9, trim.Done());
        Assert.Null(trim.Done());
        Assert.Equal(12, trim.Request(12));
    }
}
