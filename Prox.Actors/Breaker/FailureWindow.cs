using System.Collections.Immutable;

namespace Prox.Actors.Breaker;

/// <summary>
/// Immutable sliding window of result counts for the failure-rate rule. It buckets by time, not by
/// request, so its size is fixed by the configured window (at most <see cref="MaxBuckets"/> buckets)
/// no matter how much traffic passes: a busy route must not make the breaker state grow.
/// </summary>
/// <remarks>
/// Buckets are 1s wide for windows up to <see cref="MaxBuckets"/> seconds; longer windows use
/// <c>Window / MaxBuckets</c> wide buckets. A result falls out of the window once its bucket is more than
/// <c>bucket count - 1</c> buckets old, so expiry is accurate to one bucket width.
/// </remarks>
public sealed class FailureWindow
{
    /// <summary>Upper bound on buckets, whatever the window length.</summary>
    public const int MaxBuckets = 60;

    private readonly record struct Bucket(long Epoch, int Total, int Failures);

    private readonly ImmutableArray<Bucket> _buckets;
    private readonly long _bucketTicks;

    /// <summary>A window with no results; sized on first use from the config it is given.</summary>
    public static readonly FailureWindow Empty = new(ImmutableArray<Bucket>.Empty, 0);

    private FailureWindow(ImmutableArray<Bucket> buckets, long bucketTicks)
    {
        _buckets = buckets;
        _bucketTicks = bucketTicks;
    }

    /// <summary>Buckets held; bounded by <see cref="MaxBuckets"/> regardless of traffic.</summary>
    public int BucketCount => _buckets.Length;

    /// <summary>Returns a window that also counts one result at <paramref name="now"/>.</summary>
    public FailureWindow Record(bool ok, DateTimeOffset now, BreakerConfig cfg) => Record(1, ok ? 0 : 1, now, cfg);

    /// <summary>Returns a window that also counts <paramref name="total"/> results, <paramref name="failures"/> of them
    /// failed, at <paramref name="now"/>.</summary>
    public FailureWindow Record(int total, int failures, DateTimeOffset now, BreakerConfig cfg)
    {
        var (count, ticks) = Shape(cfg);
        // a reload that changed the window length invalidates the bucket layout: start over
        var buckets = _buckets.Length == count && _bucketTicks == ticks
            ? _buckets
            : ImmutableArray.Create(new Bucket[count]);

        var epoch = now.UtcTicks / ticks;
        var slot = (int)(epoch % count);
        var current = buckets[slot];
        var bucket = current.Epoch == epoch && current.Total > 0
            ? current with { Total = current.Total + total, Failures = current.Failures + failures }
            : new Bucket(epoch, total, failures); // the slot held an expired bucket: reuse it
        return new FailureWindow(buckets.SetItem(slot, bucket), ticks);
    }

    /// <summary>Results and failures inside the window that ends at <paramref name="now"/>.</summary>
    public (int Total, int Failures) Counts(DateTimeOffset now)
    {
        if (_buckets.IsEmpty) return (0, 0);
        var epoch = now.UtcTicks / _bucketTicks;
        var oldest = epoch - _buckets.Length + 1;
        int total = 0, failures = 0;
        foreach (var b in _buckets)
        {
            if (b.Total == 0 || b.Epoch < oldest || b.Epoch > epoch) continue;
            total += b.Total;
            failures += b.Failures;
        }
        return (total, failures);
    }

    private static (int Count, long Ticks) Shape(BreakerConfig cfg)
    {
        var window = Math.Max(cfg.Window.Ticks, TimeSpan.TicksPerMillisecond);
        var count = (int)Math.Clamp((window + TimeSpan.TicksPerSecond - 1) / TimeSpan.TicksPerSecond, 1, MaxBuckets);
        var ticks = (window + count - 1) / count;
        return (count, ticks);
    }
}
