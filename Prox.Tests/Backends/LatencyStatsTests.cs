using Prox.Actors.Backends;
using Xunit;

namespace Prox.Tests.Backends;

public class LatencyStatsTests
{
    private static LatencyStats Uniform1To1000Ms()
    {
        var stats = new LatencyStats();
        for (int ms = 1; ms <= 1000; ms++) stats.Record(TimeSpan.FromMilliseconds(ms));
        return stats;
    }

    [Theory]
    [InlineData(0.50, 500)]
    [InlineData(0.95, 950)]
    [InlineData(0.99, 990)]
    [InlineData(1.00, 1000)]
    public void Percentile_Uniform1To1000Ms_Within3Percent(double q, double expectedMs)
    {
        var stats = Uniform1To1000Ms();

        Assert.InRange(stats.Percentile(q), expectedMs * 0.97, expectedMs * 1.03);
    }

    [Theory]
    [InlineData(0.010)]      // 10 µs
    [InlineData(0.123)]
    [InlineData(7.77)]
    [InlineData(1234.5)]
    [InlineData(99_000)]     // 99 s
    public void Percentile_SingleSample_Within2Percent(double ms)
    {
        var stats = new LatencyStats();
        stats.Record(TimeSpan.FromMilliseconds(ms));

        Assert.InRange(stats.Percentile(0.5), ms * 0.98, ms * 1.02);
    }

    [Fact]
    public void Percentile_Empty_ReturnsZero()
    {
        var stats = new LatencyStats();

        Assert.Equal(0, stats.Percentile(0.99));
        Assert.Equal(0, stats.EwmaMs);
        Assert.Equal(0, stats.EwmaMicros);
        Assert.Equal(0, stats.Count);
    }

    [Fact]
    public void EwmaMs_FirstSample_InitializesIt()
    {
        var stats = new LatencyStats();
        stats.Record(TimeSpan.FromMilliseconds(40));

        Assert.Equal(40, stats.EwmaMs, 6);
        Assert.Equal(40_000, stats.EwmaMicros);
    }

    [Fact]
    public void EwmaMs_NextSample_MovesByAlpha()
    {
        var stats = new LatencyStats();
        stats.Record(TimeSpan.FromMilliseconds(100));
        stats.Record(TimeSpan.FromMilliseconds(200));

        Assert.Equal(120, stats.EwmaMs, 6);
    }

    [Fact]
    public void EwmaMs_SteadyNewLatency_Converges()
    {
        var stats = new LatencyStats();
        stats.Record(TimeSpan.FromMilliseconds(500));
        for (int i = 0; i < 50; i++) stats.Record(TimeSpan.FromMilliseconds(10));

        Assert.InRange(stats.EwmaMs, 10, 10.01);
    }

    [Fact]
    public void EwmaMicros_SubMicrosecondSample_StillNonZero()
    {
        var stats = new LatencyStats();
        stats.Record(TimeSpan.FromTicks(1));

        Assert.Equal(1, stats.EwmaMicros);
    }

    [Fact]
    public void Rotate_Once_KeepsPreviousWindow()
    {
        var stats = new LatencyStats();
        for (int i = 0; i < 100; i++) stats.Record(TimeSpan.FromMilliseconds(1000));
        stats.Rotate();
        for (int i = 0; i < 100; i++) stats.Record(TimeSpan.FromMilliseconds(10));

        Assert.Equal(200, stats.Count);
        Assert.InRange(stats.Percentile(0.99), 970, 1030);
        Assert.InRange(stats.Percentile(0.25), 9.7, 10.3);
    }

    [Fact]
    public void Rotate_Twice_DropsOldSamples()
    {
        var stats = new LatencyStats();
        for (int i = 0; i < 100; i++) stats.Record(TimeSpan.FromMilliseconds(1000));
        stats.Rotate();
        for (int i = 0; i < 100; i++) stats.Record(TimeSpan.FromMilliseconds(10));
        stats.Rotate();

        Assert.Equal(100, stats.Count);
        Assert.InRange(stats.Percentile(0.99), 9.7, 10.3);

        stats.Rotate();
        Assert.Equal(0, stats.Count);
        Assert.Equal(0, stats.Percentile(0.5));
    }

    [Fact]
    public void Record_OutOfRange_ClampedNotThrown()
    {
        var stats = new LatencyStats();
        stats.Record(TimeSpan.FromMinutes(10));
        stats.Record(TimeSpan.FromTicks(-5));

        Assert.Equal(2, stats.Count);
        Assert.Equal(0, stats.Percentile(0));
        Assert.InRange(stats.Percentile(1), 100_000, 110_000);
    }

    [Fact]
    public void Record_10kSamples_AllocatesNothing()
    {
        var stats = new LatencyStats();
        stats.Record(TimeSpan.FromMilliseconds(1));
        double sink = stats.Percentile(0.5);

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 10_000; i++) stats.Record(TimeSpan.FromTicks(i * 997L));
        sink += stats.Percentile(0.99);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(0, allocated);
        Assert.True(sink > 0);
    }
}
