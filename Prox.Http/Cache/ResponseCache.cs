using System.Collections.Concurrent;
using Microsoft.Extensions.Primitives;

namespace Prox.Http.Cache;

/// <summary>One stored response. Immutable except for its place in the LRU list and its refresh flag.</summary>
public sealed class CacheEntry
{
    internal CacheEntry? Prev;
    internal CacheEntry? Next;
    /// <summary>When the entry last moved to the front of the LRU list (UTC ticks).</summary>
    internal long MovedAt;
    private int _refreshing;

    public required string Key { get; init; }
    public required string Route { get; init; }
    /// <summary>The request's path and query (what purge by key and by prefix match).</summary>
    public required string PathAndQuery { get; init; }
    public required int Status { get; init; }
    /// <summary>The response's end-to-end headers (no hop-by-hop, no Set-Cookie, no Age, no Content-Length).</summary>
    public required KeyValuePair<string, StringValues>[] Headers { get; init; }
    public required byte[] Body { get; init; }
    public required DateTimeOffset StoredAt { get; init; }
    public required TimeSpan InitialAge { get; init; }
    public required TimeSpan Lifetime { get; init; }
    public required TimeSpan StaleWhileRevalidate { get; init; }
    public required TimeSpan StaleIfError { get; init; }
    public required bool MustRevalidate { get; init; }
    public string? ETag { get; init; }
    public DateTimeOffset? LastModified { get; init; }
    /// <summary>The response's <c>Vary</c> header names and the request's values for them when stored.</summary>
    public string[] VaryNames { get; init; } = [];
    public string[] VaryValues { get; init; } = [];

    /// <summary>What the entry counts against the memory budget: body, headers, key and a fixed overhead.</summary>
    public long Size { get; init; }

    public TimeSpan Age(DateTimeOffset now) => CachePolicy.CurrentAge(InitialAge, StoredAt, now);

    public Freshness Classify(DateTimeOffset now) =>
        CachePolicy.Classify(Age(now), Lifetime, StaleWhileRevalidate, StaleIfError, MustRevalidate);

    /// <summary>True for the one caller that may refresh the entry in the background.</summary>
    public bool TryBeginRefresh() => Interlocked.CompareExchange(ref _refreshing, 1, 0) == 0;

    /// <summary>Lets a later request try again after a refresh that stored nothing.</summary>
    public void EndRefresh() => Volatile.Write(ref _refreshing, 0);

    /// <summary>Fixed bytes per entry besides its strings and body: the object, arrays and the dictionary node.</summary>
    public const int Overhead = 256;

    public static long SizeOf(string key, string pathAndQuery, KeyValuePair<string, StringValues>[] headers, int bodyLength, string[] vary)
    {
        long size = Overhead + bodyLength + 2L * (key.Length + pathAndQuery.Length);
        foreach (var (name, values) in headers)
        {
            size += 2L * name.Length + 32;
            foreach (var v in values) size += 2L * (v?.Length ?? 0) + 24;
        }
        foreach (var v in vary) size += 2L * v.Length + 24;
        return size;
    }
}

/// <summary>Per-route counters shown on <c>/status</c>.</summary>
public sealed class RouteCacheStats
{
    internal long HitCount, MissCount, StaleCount, BypassCount, EntryCount, ByteCount;

    public long Hits => Interlocked.Read(ref HitCount);
    public long Misses => Interlocked.Read(ref MissCount);
    public long Stale => Interlocked.Read(ref StaleCount);
    public long Bypass => Interlocked.Read(ref BypassCount);
    public long Entries => Interlocked.Read(ref EntryCount);
    public long Bytes => Interlocked.Read(ref ByteCount);
}

/// <summary>
/// The process-wide response store: a dictionary for lookups plus an LRU list under one lock, bounded by a byte
/// budget however many keys arrive. Adding an entry evicts the least recently used ones until it fits. A hit moves
/// its entry to the front at most once per <see cref="MoveInterval"/> (as memcached does), so hits on a hot entry
/// read the dictionary and take no lock.
/// </summary>
public sealed class ResponseCache
{
    private readonly ConcurrentDictionary<string, CacheEntry> _map = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, RouteCacheStats> _stats = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();
    private CacheEntry? _head; // most recently used
    private CacheEntry? _tail; // least recently used
    private long _bytes;
    private long _maxBytes;
    private long _evictions;

    /// <summary>A hit within this long of its entry's last move keeps the entry where it is.</summary>
    public static readonly TimeSpan MoveInterval = TimeSpan.FromSeconds(1);

    public ResponseCache(TimeProvider time, long maxBytes)
    {
        Time = time;
        _maxBytes = maxBytes;
    }

    public TimeProvider Time { get; }

    public long MaxBytes => Interlocked.Read(ref _maxBytes);
    public long Bytes => Interlocked.Read(ref _bytes);
    public int Count => _map.Count;
    public long Evictions => Interlocked.Read(ref _evictions);

    public RouteCacheStats StatsFor(string route) => _stats.GetOrAdd(route, static _ => new RouteCacheStats());

    /// <summary>The routes that have counters (every route that served a cached request since start).</summary>
    public IReadOnlyDictionary<string, RouteCacheStats> Stats => _stats;

    /// <summary>Changes the budget (a reload); evicts at once down to it.</summary>
    public void SetMaxBytes(long maxBytes)
    {
        lock (_lock)
        {
            Interlocked.Exchange(ref _maxBytes, maxBytes);
            EvictUntil(0);
        }
    }

    /// <summary>The entry for <paramref name="key"/>, marked as the most recently used (unless it was within
    /// <see cref="MoveInterval"/>); null when absent.</summary>
    public CacheEntry? Get(string key) => Get(key, Time.GetUtcNow());

    /// <inheritdoc cref="Get(string)"/>
    /// <param name="now">The time of the request (the caller has it already).</param>
    public CacheEntry? Get(string key, DateTimeOffset now)
    {
        if (!_map.TryGetValue(key, out var e)) return null;
        var ticks = now.UtcTicks;
        if (ticks - Volatile.Read(ref e.MovedAt) < MoveInterval.Ticks) return e;
        lock (_lock)
        {
            // it may have been evicted between the lookup and the lock: then it is not in the list
            if (e.Prev is not null || _head == e) MoveToFront(e, ticks);
        }
        return e;
    }

    /// <summary>Stores (or replaces) an entry; false when it is larger than the whole budget.</summary>
    public bool Set(CacheEntry entry)
    {
        if (entry.Size > MaxBytes) return false;
        lock (_lock)
        {
            if (_map.TryGetValue(entry.Key, out var old)) RemoveLocked(old, evicted: false);
            EvictUntil(entry.Size);
            _map[entry.Key] = entry;
            LinkFront(entry, Time.GetUtcNow().UtcTicks);
            _bytes += entry.Size;
            var s = StatsFor(entry.Route);
            Interlocked.Increment(ref s.EntryCount);
            Interlocked.Add(ref s.ByteCount, entry.Size);
        }
        return true;
    }

    /// <summary>Removes the entries <paramref name="match"/> selects; returns how many.</summary>
    public int RemoveWhere(Func<CacheEntry, bool> match)
    {
        var removed = 0;
        lock (_lock)
        {
            for (var e = _head; e is not null;)
            {
                var next = e.Next;
                if (match(e))
                {
                    RemoveLocked(e, evicted: false);
                    removed++;
                }
                e = next;
            }
        }
        return removed;
    }

    /// <summary>Removes the entry stored under <paramref name="key"/>, if any.</summary>
    public bool Remove(string key)
    {
        lock (_lock)
        {
            if (!_map.TryGetValue(key, out var e)) return false;
            RemoveLocked(e, evicted: false);
            return true;
        }
    }

    public bool Remove(CacheEntry entry)
    {
        lock (_lock)
        {
            if (!_map.TryGetValue(entry.Key, out var current) || current != entry) return false;
            RemoveLocked(entry, evicted: false);
            return true;
        }
    }

    private void EvictUntil(long room)
    {
        while (_tail is not null && _bytes + room > _maxBytes)
        {
            RemoveLocked(_tail, evicted: true);
        }
    }

    private void RemoveLocked(CacheEntry e, bool evicted)
    {
        _map.TryRemove(new KeyValuePair<string, CacheEntry>(e.Key, e));
        Unlink(e);
        _bytes -= e.Size;
        var s = StatsFor(e.Route);
        Interlocked.Decrement(ref s.EntryCount);
        Interlocked.Add(ref s.ByteCount, -e.Size);
        if (evicted) Interlocked.Increment(ref _evictions);
    }

    private void MoveToFront(CacheEntry e, long ticks)
    {
        Volatile.Write(ref e.MovedAt, ticks);
        if (_head == e) return;
        Unlink(e);
        LinkFront(e, ticks);
    }

    private void LinkFront(CacheEntry e, long ticks)
    {
        Volatile.Write(ref e.MovedAt, ticks);
        e.Prev = null;
        e.Next = _head;
        if (_head is not null) _head.Prev = e;
        _head = e;
        _tail ??= e;
    }

    private void Unlink(CacheEntry e)
    {
        if (e.Prev is not null) e.Prev.Next = e.Next;
        else if (_head == e) _head = e.Next;
        if (e.Next is not null) e.Next.Prev = e.Prev;
        else if (_tail == e) _tail = e.Prev;
        e.Prev = e.Next = null;
    }
}
