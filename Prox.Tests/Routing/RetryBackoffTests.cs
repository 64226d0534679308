using Prox.Actors.Routing;
using Xunit;

namespace Prox.Tests.Routing;

public class RetryBackoffTests
{
    [Theory]
    [InlineData(1, 0.0, 25)]
    [InlineData(1, 0.999, 50)]
    [InlineData(2, 0.0, 50)]
    [InlineData(3, 0.0, 100)]
    [InlineData(3, 0.5, 150)]
    [InlineData(10, 0.0, 500)]   // capped at max (1 s), half of it fixed
    [InlineData(10, 0.999, 1000)]
    public void NextDelay_ExponentialWithEqualJitter_CappedAtMax(int attempt, double jitter, int expectedMs)
    {
        var d = RetryBackoff.NextDelay(attempt, TimeSpan.FromMilliseconds(50), TimeSpan.FromSeconds(1), jitter);
        Assert.InRange(d.TotalMilliseconds, expectedMs - 1, expectedMs + 0.5);
    }

    [Fact]
    public void NextDelay_ZeroBackoff_IsZero() =>
        Assert.Equal(TimeSpan.Zero, RetryBackoff.NextDelay(3, TimeSpan.Zero, TimeSpan.FromSeconds(1), 0.5));
}
