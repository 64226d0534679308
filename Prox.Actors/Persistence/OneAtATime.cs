namespace Prox.Actors.Persistence;

/// <summary>
/// Keeps a persistent actor's trimming requests (DeleteMessages, DeleteSnapshots up to a sequence number) one at a
/// time: on PostgreSQL two overlapping deletes of the same persistence id can deadlock (40P01) and one fails. A request
/// made while one runs is remembered (only the highest: it covers the others) and issued when the running one ends.
/// Not thread-safe: used from the actor only.
/// </summary>
public sealed class OneAtATime
{
    private long _running;
    private long _next;

    /// <summary>The sequence number to delete up to now, or null when a delete runs (this one is issued after it).</summary>
    public long? Request(long to)
    {
        if (_running != 0)
        {
            _next = Math.Max(_next, to);
            return null;
        }
        _running = to;
        return to;
    }

    /// <summary>The running delete ended (either way): the remembered request to issue now, if any.</summary>
    public long? Done()
    {
        _running = 0;
        if (_next == 0) return null;
        var next = _next;
        _next = 0;
        _running = next;
        return next;
    }
}
