namespace Prox.Actors.Backends;

/// <summary>
/// Latency statistics of one backend: an EWMA and percentiles over the current and previous window.
/// Owned by the backend's actor, so it is single-threaded; memory is fixed and recording allocates nothing.
/// </summary>
/// <remarks>
/// Percentiles come from a log-linear histogram over 100 ns ticks: exact below 64 ticks, then 32 linear
/// buckets per power of two up to 2^30 ticks (~107 s). A bucket spans at most 1/32 of its lower bound,
/// so reporting its midpoint is within ~1.6% of any sample in it from 10 µs to 100 s. Longer samples
/// land in the last bucket.
/// <para>Hand-written because no served library fits: the backend actor records every outcome into this fixed array
/// without allocating and rotates two windows by swapping arrays; HdrHistogram would cover recording, but not the
/// two-window rotation or the combined percentile without copying, so it would add a dependency without removing
/// code.</para>
/// </remarks>
public sealed class LatencyStats
{
    /// <summary>Weight of the newest sample in the EWMA.</summary>
    public const double Alpha = 0.2;

    private const int SubBucketBits = 5;
    private const int SubBuckets = 1 << SubBucketBits;   // linear buckets per power of two
    private const int LinearLimit = 2 * SubBuckets;      // ticks below this are counted exactly
    private const int MaxExponent = 29;                  // highest power of two covered: [2^29, 2^30)
    private const long MaxTicks = (1L << (MaxExponent + 1)) - 1;
    /// <summary>Buckets of the histogram (also those of <see cref="OutcomeTally"/>).</summary>
    internal const int BucketCount = LinearLimit + (MaxExponent - SubBucketBits) * SubBuckets;

    private long[] _current = new long[BucketCount];
    private long[] _previous = new long[BucketCount];
    private long _currentCount;
    private long _previousCount;
    private double _ewmaMs;
    private bool _hasEwma;

    /// <summary>Samples in the current and previous window: the ones <see cref="Percentile"/> covers.</summary>
    public long Count => _currentCount + _previousCount;

    /// <summary>Exponentially weighted moving average in milliseconds (alpha 0.2); 0 before the first sample,
    /// which initializes it. Not reset by <see cref="Rotate"/>.</summary>
    public double EwmaMs => _ewmaMs;

    /// <summary><see cref="EwmaMs"/> in whole microseconds for <see cref="BackendLive.EwmaMicros"/>:
    /// 0 only before the first sample, at least 1 after it (0 there means "no data").</summary>
    public long EwmaMicros => _hasEwma ? Math.Max(1L, (long)Math.Round(_ewmaMs * 1000)) : 0;

    public void Record(TimeSpan latency)
    {
        long ticks = latency.Ticks < 0 ? 0 : latency.Ticks;
        double ms = ticks / (double)TimeSpan.TicksPerMillisecond;
        if (_hasEwma) _ewmaMs += Alpha * (ms - _ewmaMs);
        else
        {
            _ewmaMs = ms;
            _hasEwma = true;
        }
        _current[BucketOf(ticks)]++;
        _currentCount++;
    }

    /// <summary><paramref name="count"/> samples of <paramref name="latency"/> at once (another node's run of answers).</summary>
    internal void Record(TimeSpan latency, long count)
    {
        AddToBucket(BucketOf(latency.Ticks < 0 ? 0 : latency.Ticks), count);
        MoveEwma(latency, count);
    }

    /// <summary>Adds <paramref name="count"/> samples to one bucket: a fold of the request path's
    /// <see cref="OutcomeTally"/>, whose histogram has these buckets. The EWMA moves with <see cref="MoveEwma"/>.</summary>
    internal void AddToBucket(int bucket, long count)
    {
        _current[bucket] += count;
        _currentCount += count;
    }

    /// <summary>Moves the EWMA as <paramref name="count"/> samples of <paramref name="mean"/> one after another would:
    /// the newest sample's weight compounds to <c>1 - (1 - Alpha)^count</c>.</summary>
    internal void MoveEwma(TimeSpan mean, long count)
    {
        if (count <= 0) return;
        var ms = Math.Max(0, mean.Ticks) / (double)TimeSpan.TicksPerMillisecond;
        if (!_hasEwma)
        {
            _ewmaMs = ms;
            _hasEwma = true;
            return;
        }
        _ewmaMs += (1 - Math.Pow(1 - Alpha, Math.Min(count, 1000))) * (ms - _ewmaMs);
    }

    /// <summary>The <paramref name="q"/>-quantile (0..1, e.g. 0.99) in milliseconds over the current and
    /// previous window; 0 when both are empty.</summary>
    public double Percentile(double q)
    {
        long total = Count;
        if (total == 0) return 0;
        q = double.IsNaN(q) ? 0 : Math.Clamp(q, 0, 1);
        long rank = Math.Clamp((long)Math.Ceiling(q * total), 1, total);
        long seen = 0;
        for (int i = 0; i < BucketCount; i++)
        {
            seen += _current[i] + _previous[i];
            if (seen >= rank) return MidpointTicks(i) / TimeSpan.TicksPerMillisecond;
        }
        return MidpointTicks(BucketCount - 1) / TimeSpan.TicksPerMillisecond;
    }

    /// <summary>Starts a new window: the current one becomes the previous and the old previous is dropped.</summary>
    public void Rotate()
    {
        (_previous, _current) = (_current, _previous);
        Array.Clear(_current);
        _previousCount = _currentCount;
        _currentCount = 0;
    }

    /// <summary>The histogram bucket of a latency of <paramref name="ticks"/> (100 ns each).</summary>
    internal static int BucketOf(long ticks)
    {
        if (ticks < LinearLimit) return (int)ticks;
        if (ticks > MaxTicks) ticks = MaxTicks;
        int exponent = 63 - System.Numerics.BitOperations.LeadingZeroCount((ulong)ticks);
        int shift = exponent - SubBucketBits;
        int sub = (int)(ticks >> shift) - SubBuckets;
        return LinearLimit + (exponent - SubBucketBits - 1) * SubBuckets + sub;
    }

    private static double MidpointTicks(int bucket)
    {
        if (bucket < LinearLimit) return bucket;
        int octave = (bucket - LinearLimit) / SubBuckets;
        int sub = (bucket - LinearLimit) % SubBuckets;
        int shift = octave + 1;
        long lower = (long)(SubBuckets + sub) << shift;
        return lower + (1L << shift) / 2.0;
    }
}
