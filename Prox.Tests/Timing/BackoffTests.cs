using Prox.Actors.Timing;
using Xunit;

namespace Prox.Tests.Timing;

/// <summary>The one backoff rule, in every shape its users call it with; no clock, randomness injected.</summary>
public class BackoffTests
{
    private static readonly TimeSpan S1 = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan M5 = TimeSpan.FromMinutes(5);

    /// <summary>attempt → ms: first × 2^(attempt-1), capped (1 s doubling up to 60 s: the breaker's and ejection's shape).</summary>
    public static TheoryData<int, double> Doublings => new()
    {
        { 1, 1_000 }, { 2, 2_000 }, { 3, 4_000 }, { 6, 32_000 }, { 7, 60_000 }, { 62, 60_000 },
        { 63, 60_000 }, { int.MaxValue, 60_000 }, // past the exponent clamp
        { 0, 0 }, { -5, 0 },                      // nothing failed yet: no wait
    };

    /// <summary>Retries (RetryBackoff before), attempt, random → ms: equal jitter, half fixed, 50 ms doubling up to 1 s.</summary>
    public static TheoryData<int, double, int> EqualJitter => new()
    {
        { 1, 0.0, 25 }, { 1, 0.999, 50 }, { 2, 0.0, 50 }, { 3, 0.0, 100 }, { 3, 0.5, 150 },
        { 10, 0.0, 500 }, { 10, 0.999, 1000 }, // capped at max (1 s), half of it fixed
    };

    [Theory]
    [MemberData(nameof(Doublings))]
    public void Delay_NoJitter_DoublesAndCaps(int attempt, double expectedMs) =>
        Assert.Equal(TimeSpan.FromMilliseconds(expectedMs), Backoff.Delay(attempt, S1, TimeSpan.FromSeconds(60), Jitter.None, 0.123));

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    public void Delay_FirstNotPositive_IsZero(int firstMs) =>
        Assert.Equal(TimeSpan.Zero, Backoff.Delay(3, TimeSpan.FromMilliseconds(firstMs), S1, Jitter.Equal, 0.5));

    [Fact]
    public void Delay_TinyFirstHugeCap_ReachesTheCap()
    {
        var millennium = TimeSpan.FromDays(365_000);
        Assert.Equal(millennium, Backoff.Delay(int.MaxValue, TimeSpan.FromTicks(1), millennium, Jitter.None));
    }

    [Theory]
    [MemberData(nameof(EqualJitter))]
    public void Delay_EqualJitter_HalfFixedCappedAtMax(int attempt, double random, int expectedMs)
    {
        var d = Backoff.Delay(attempt, TimeSpan.FromMilliseconds(50), S1, Jitter.Equal, random);
        Assert.InRange(d.TotalMilliseconds, expectedMs - 1, expectedMs + 0.5);
    }

    [Theory]
    // webhooks (WebhookBackoff before): attempt, jitter, random → expected milliseconds; 1 s doubling up to 5 min
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
    public void Delay_AroundWithinMax_Table(int attempt, double jitter, double random, double expectedMs)
    {
        var delay = Backoff.Delay(attempt, S1, M5, Jitter.AroundWithinMax(jitter), random);

        Assert.Equal(expectedMs, delay.TotalMilliseconds, 3);
    }

    [Fact]
    public void Delay_FirstEqualsMax_Constant()
    {
        var d = TimeSpan.FromMilliseconds(50);

        Assert.All(Enumerable.Range(1, 20), a => Assert.Equal(d, Backoff.Delay(a, d, d, Jitter.AroundWithinMax(0), 0.5)));
    }

    [Theory]
    // recovery and health (±fraction after the cap, so it may exceed it): attempt, fraction, random → ms; 10 s doubling up to 60 s
    [InlineData(1, 0.1, 0.5, 10_000)]
    [InlineData(1, 0.1, 0.0, 9_000)]
    [InlineData(1, 0.25, 1.0, 12_500)]
    [InlineData(4, 0.1, 1.0, 66_000)]
    [InlineData(4, 0.25, 0.0, 45_000)]
    // out-of-range randomness is clamped; NaN is the middle
    [InlineData(2, 0.1, 7.0, 22_000)]
    [InlineData(2, 0.1, -3.0, 18_000)]
    [InlineData(2, 0.1, double.NaN, 20_000)]
    public void Delay_Around_JitterAfterCap(int attempt, double fraction, double random, double expectedMs) =>
        Assert.Equal(TimeSpan.FromMilliseconds(expectedMs),
            Backoff.Delay(attempt, TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(60), Jitter.Around(fraction), random));

    [Theory]
    [InlineData(double.NaN, 0, 0)]
    [InlineData(-1, 0, 0)]
    [InlineData(0.3, 0.3, 0.3)]
    [InlineData(5, 1, 1)]
    public void Around_Fraction_NaNIsNoneAndClampedToOne(double fraction, double below, double above) =>
        Assert.Equal(new Jitter(below, above, false), Jitter.Around(fraction));

    [Fact]
    public void Delay_ManyRandomValues_StayWithinSpread()
    {
        var rng = new Random(42);
        for (var i = 0; i < 1000; i++)
        {
            var d = Backoff.Delay(3, S1, M5, Jitter.Around(0.2), rng.NextDouble());
            Assert.InRange(d, TimeSpan.FromMilliseconds(3_200), TimeSpan.FromMilliseconds(4_800));
        }
    }
}
