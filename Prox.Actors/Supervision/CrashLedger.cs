namespace Prox.Actors.Supervision;

/// <summary>
/// An actor's crashes, kept by the object its parent passes to every incarnation (a backend's <c>BackendMemory</c>, a
/// route's <c>RouteSlot</c>), so the next incarnation can report why its predecessor died. Written on the supervisor's
/// thread while the crashed child is suspended, read by the next incarnation; hence atomics rather than plain fields.
/// </summary>
public sealed class CrashLedger
{
    private CrashRecord? _pending;
    private int _count;

    /// <summary>Crashes since Prox started.</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>Called by the supervisor (or by <c>PostRestart</c> for an in-place restart) with the crash's exception.</summary>
    public void Record(Exception ex, DateTimeOffset at)
    {
        var n = Interlocked.Increment(ref _count);
        Volatile.Write(ref _pending, new CrashRecord(ex.GetType().Name, ex.Message, at, n));
    }

    /// <summary>The crash not yet reported by a new incarnation, if any; clears it.</summary>
    public CrashRecord? TakePending() => Interlocked.Exchange(ref _pending, null);
}
