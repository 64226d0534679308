using Prox.Actors.Breaker;
using Xunit;

namespace Prox.Tests.Breaker;

public class HalfOpenPermitsTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(100)]
    [InlineData(50_000)] // most calls race while permits remain
    public void TryAcquire_ManyConcurrentCallers_ExactlyCountSucceed(int count)
    {
        const int threads = 8, calls = 10_000;
        var permits = new HalfOpenPermits(count);
        var granted = 0;
        using var start = new Barrier(threads);
        var workers = Enumerable.Range(0, threads).Select(_ => new Thread(() =>
        {
            start.SignalAndWait();
            var mine = 0;
            for (var i = 0; i < calls; i++)
                if (permits.TryAcquire()) mine++;
            Interlocked.Add(ref granted, mine);
        })).ToList();
        workers.ForEach(t => t.Start());
        workers.ForEach(t => t.Join());

        Assert.Equal(count, granted);
        Assert.Equal(0, permits.Remaining);
    }

    [Fact]
    public void TryAcquire_Sequential_CountsDownRemaining()
    {
        var permits = new HalfOpenPermits(2);
        Assert.True(permits.TryAcquire());
        Assert.Equal(1, permits.Remaining);
        Assert.True(permits.TryAcquire());
        Assert.False(permits.TryAcquire());
        Assert.False(permits.TryAcquire());
        Assert.Equal(0, permits.Remaining);
    }

    [Fact]
    public void TryAcquire_GrantedAndRejected_AllocatesNothing()
    {
        var permits = new HalfOpenPermits(5_000);
        permits.TryAcquire(); // JIT before measuring
        var before = GC.GetAllocatedBytesForCurrentThread();
        var granted = 0;
        for (var i = 0; i < 10_000; i++)
            if (permits.TryAcquire()) granted++;
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(4_999, granted);
        Assert.Equal(0, allocated);
    }

    [Fact]
    public void Ctor_NegativeCount_Throws() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new HalfOpenPermits(-1));
}
