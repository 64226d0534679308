using Microsoft.Extensions.Primitives;
using Prox.Http.Cache;
using Prox.Tests.Infrastructure;
using Xunit;

namespace Prox.Tests.Cache;

public class ResponseCacheTests
{
    private static CacheEntry Entry(string path, int bodyBytes, string route = "r", DateTimeOffset? at = null)
    {
        var key = route + "\nh\n" + path;
        KeyValuePair<string, StringValues>[] headers = [new("Content-Type", "text/plain")];
        return new CacheEntry
        {
            Key = key,
            Route = route,
            PathAndQuery = path,
            Status = 200,
            Headers = headers,
            Body = new byte[bodyBytes],
            StoredAt = at ?? DateTimeOffset.UnixEpoch,
            InitialAge = TimeSpan.Zero,
            Lifetime = TimeSpan.FromMinutes(5),
            StaleWhileRevalidate = TimeSpan.Zero,
            StaleIfError = TimeSpan.Zero,
            MustRevalidate = false,
            Size = CacheEntry.SizeOf(key, path, headers, bodyBytes, []),
        };
    }

    [Fact]
    public void Set_100000DistinctKeys_MemoryStaysWithinBudget_EvictionsCounted()
    {
        const long budget = 1 << 20;
        var cache = new ResponseCache(new ManualClock(), budget);
        for (var i = 0; i < 100_000; i++)
        {
            cache.Set(Entry("/item/" + i, 100));
            Assert.True(cache.Bytes <= budget);
        }
        var one = Entry("/item/99999", 100).Size; // the newest keys, all of this length, fill the cache
        Assert.InRange(cache.Count, (int)(budget / one) - 1, (int)(budget / one));
        Assert.Equal(100_000 - cache.Count, cache.Evictions);
        Assert.Equal(cache.Count, cache.StatsFor("r").Entries);
        Assert.Equal(cache.Bytes, cache.StatsFor("r").Bytes);
        Assert.NotNull(cache.Get("r\nh\n/item/99999"));
        Assert.Null(cache.Get("r\nh\n/item/0"));
    }

    /// <summary>A cache with room for three 1000-byte entries, holding /a, /b and /c stored in that order.</summary>
    private static (ResponseCache Cache, ManualClock Clock) FullOfThree()
    {
        var clock = new ManualClock();
        var cache = new ResponseCache(clock, Entry("/a", 1000).Size * 3);
        cache.Set(Entry("/a", 1000));
        cache.Set(Entry("/b", 1000));
        cache.Set(Entry("/c", 1000));
        return (cache, clock);
    }

    [Fact]
    public void Set_OverBudget_EvictsLeastRecentlyUsed()
    {
        var (cache, clock) = FullOfThree();
        clock.Advance(ResponseCache.MoveInterval);
        Assert.NotNull(cache.Get("r\nh\n/a")); // /a is now the most recent; /b the least
        cache.Set(Entry("/d", 1000));
        Assert.Null(cache.Get("r\nh\n/b"));
        Assert.NotNull(cache.Get("r\nh\n/a"));
        Assert.NotNull(cache.Get("r\nh\n/c"));
        Assert.Equal(1, cache.Evictions);
    }

    [Fact]
    public void Get_WithinMoveIntervalOfLastMove_KeepsThePlace_LaterMovesToFront()
    {
        var (cache, clock) = FullOfThree();
        clock.Advance(ResponseCache.MoveInterval - TimeSpan.FromMilliseconds(1));
        Assert.NotNull(cache.Get("r\nh\n/a")); // a hit, but /a stays the least recently moved
        cache.Set(Entry("/d", 1000));
        Assert.Null(cache.Get("r\nh\n/a"));

        clock.Advance(TimeSpan.FromMilliseconds(1)); // /b was stored a full interval ago: this hit moves it
        Assert.NotNull(cache.Get("r\nh\n/b"));
        cache.Set(Entry("/e", 1000));
        Assert.Null(cache.Get("r\nh\n/c"));
        Assert.NotNull(cache.Get("r\nh\n/b"));
        Assert.Equal(2, cache.Evictions);
    }

    [Fact]
    public void Set_LargerThanBudget_NotStored()
    {
        var cache = new ResponseCache(new ManualClock(), 1000);
        Assert.False(cache.Set(Entry("/big", 2000)));
        Assert.Equal(0, cache.Count);
    }

    [Fact]
    public void Set_SameKey_ReplacesAndAccountsOnce()
    {
        var cache = new ResponseCache(new ManualClock(), 1 << 20);
        cache.Set(Entry("/a", 100));
        cache.Set(Entry("/a", 300));
        Assert.Equal(1, cache.Count);
        Assert.Equal(Entry("/a", 300).Size, cache.Bytes);
    }

    [Fact]
    public void SetMaxBytes_Lower_EvictsDownToIt()
    {
        var cache = new ResponseCache(new ManualClock(), 1 << 20);
        for (var i = 0; i < 100; i++) cache.Set(Entry("/i" + i, 1000));
        cache.SetMaxBytes(10_000);
        Assert.True(cache.Bytes <= 10_000);
        Assert.True(cache.Count > 0);
    }

    [Fact]
    public void RemoveWhere_ByRoute_KeepsOthers()
    {
        var cache = new ResponseCache(new ManualClock(), 1 << 20);
        cache.Set(Entry("/a", 10, "r1"));
        cache.Set(Entry("/a", 10, "r2"));
        Assert.Equal(1, cache.RemoveWhere(e => e.Route == "r1"));
        Assert.Equal(1, cache.Count);
        Assert.Equal(0, cache.StatsFor("r1").Entries);
        Assert.Equal(1, cache.StatsFor("r2").Entries);
    }

    [Fact]
    public async Task GetAndSet_Concurrent_BudgetAndCountsStayConsistent()
    {
        const long budget = 200_000;
        var cache = new ResponseCache(new ManualClock(), budget);
        await Task.WhenAll(Enumerable.Range(0, 8).Select(t => Task.Run(() =>
        {
            for (var i = 0; i < 20_000; i++)
            {
                cache.Set(Entry("/k" + (i % 3000) + "-" + t % 2, 200));
                cache.Get("r\nh\n/k" + (i % 500) + "-0");
            }
        })));
        Assert.True(cache.Bytes <= budget);
        Assert.Equal(cache.Count, cache.StatsFor("r").Entries);
        Assert.Equal(cache.Bytes, cache.StatsFor("r").Bytes);
    }
}
