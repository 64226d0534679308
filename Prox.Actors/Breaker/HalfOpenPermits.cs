namespace Prox.Actors.Breaker;

/// <summary>
/// Admits at most a fixed number of trial requests to a half-open backend, from any number of request threads,
/// without a lock, an allocation or a mailbox hop. The breaker's actor creates a fresh instance each time the
/// breaker goes half-open and publishes it in the route snapshot; request threads call <see cref="TryAcquire"/>
/// and report the trial's outcome back with <c>Tell</c>. A used-up instance is simply replaced, never reset, so a
/// straggler holding the old snapshot cannot take a permit from the next half-open period.
/// </summary>
public sealed class HalfOpenPermits
{
    private int _remaining;

    /// <summary>Creates an instance that admits <paramref name="count"/> callers in total.</summary>
    public HalfOpenPermits(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        _remaining = count;
    }

    /// <summary>True for at most the first <c>count</c> callers, whatever the concurrency.</summary>
    public bool TryAcquire()
    {
        // the plain read keeps exhausted callers off the contended cache line and stops the counter from
        // being decremented without bound (it would wrap to positive after 2^31 rejected calls)
        if (Volatile.Read(ref _remaining) <= 0) return false;
        return Interlocked.Decrement(ref _remaining) >= 0;
    }

    /// <summary>Permits not yet handed out (never negative).</summary>
    public int Remaining => Math.Max(0, Volatile.Read(ref _remaining));
}
