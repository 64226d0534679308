using Prox.Actors.Webhooks;
using Xunit;

namespace Prox.Tests.Webhooks;

public class WebhookBackoffTests
{
    private static readonly TimeSpan Min = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan Max = TimeSpan.FromMinutes(5);

    [Theory]
    // attempt, jitter, random → expected milliseconds
    [InlineData(0, 0.0, 0.5, 0)]            // nothing failed yet: no wait
    [InlineData(1, 0.0, 0.5, 1_000)]        // first failure: min
    [InlineData(2, 0.0, 0.5, 2_000)]        // doubles …
    [InlineData(3, 0.0, 0.5, 4_000)]
    [InlineData(9, 0.0, 0.5, 256_000)]
    [InlineData(10, 0.0, 0.5, 300_000)]     // … up to max
    [InlineData(1000, 0.0, 0.5, 300_000)]   // no overflow far out
    [InlineData(1, 0.2, 0.5, 1_000)]        // random 0.5 = the middle of the spread
    [InlineData(1, 0.2, 0.0, 800)]          // -20%
    [InlineData(1, 0.2, 1.0, 1_200)]        // +20%
    [InlineData(3, 0.2, 0.0, 3_200)]
    [InlineData(10, 0.2, 1.0, 300_000)]     // jitter never goes beyond max
    [InlineData(10, 0.2, 0.0, 240_000)]     // but may go below it
    public void NextDelay_Table(int attempt, double jitter, double random, double expectedMs)
    {
        var delay = WebhookBackoff.NextDelay(attempt, Min, Max, jitter, random);

        Assert.Equal(expectedMs, delay.TotalMilliseconds, 3);
    }

    [Fact]
    public void NextDelay_MinEqualsMax_Constant()
    {
        var d = TimeSpan.FromMilliseconds(50);

        Assert.All(Enumerable.Range(1, 20), a => Assert.Equal(d, WebhookBackoff.NextDelay(a, d, d, 0, 0.5)));
    }
}
