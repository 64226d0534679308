namespace Prox.Actors.Backends;

/// <summary>
/// A backend's ordinary outcomes (answered without a gateway failure, or left by the client), counted by the request
/// path with atomic adds on the backend's live object instead of a message per request. The backend's actor folds
/// what was added since it last looked (<see cref="TallyCursor"/>) a moment later: its counters, latency histogram and
/// EWMA, and the guard's "a success ends the failure streak". Failures and breaker trials are still told to the actor
/// at once (<see cref="BackendLive.Report"/>), so ejection and breakers react as fast as before.
/// </summary>
/// <remarks>
/// Lock-free and allocation-free: three <see cref="Interlocked"/> adds per answered request, into a histogram with the
/// buckets of <see cref="LatencyStats"/>. Counters only grow; the actor's cursor remembers what it has folded, so a
/// restarted actor neither loses nor repeats anything. The first add after a fold returns true, and the caller then
/// tells the actor once that a fold is due (<see cref="TallyDue"/>): one message per <see cref="FoldDelay"/> under
/// load, none while idle.
/// </remarks>
public sealed class OutcomeTally
{
    /// <summary>How long counted outcomes wait for their actor: it folds this long after the first one since its last
    /// fold. Short enough for least-latency balancing and <c>/status</c>; <c>/status</c> folds before it answers.</summary>
    public static readonly TimeSpan FoldDelay = TimeSpan.FromMilliseconds(100);

    private readonly long[] _buckets = new long[LatencyStats.BucketCount];
    private long _answered;
    private long _aborted;
    private long _latencyTicks;
    private int _due;

    /// <summary>Answered requests counted so far (ever).</summary>
    public long Answered => Volatile.Read(ref _answered);

    /// <summary>Requests counted so far whose client left (ever).</summary>
    public long Aborted => Volatile.Read(ref _aborted);

    /// <summary>Total latency of <see cref="Answered"/>, in ticks.</summary>
    public long LatencyTicks => Volatile.Read(ref _latencyTicks);

    /// <summary>Counts one answered request. True when the actor should be told a fold is due.</summary>
    public bool AddAnswered(TimeSpan latency)
    {
        var ticks = latency.Ticks < 0 ? 0 : latency.Ticks;
        Interlocked.Increment(ref _buckets[LatencyStats.BucketOf(ticks)]);
        Interlocked.Add(ref _latencyTicks, ticks);
        // last, so a reader that sees the count also sees its bucket and latency
        Interlocked.Increment(ref _answered);
        return MarkDue();
    }

    /// <summary>Counts one request whose client left. True when the actor should be told a fold is due.</summary>
    public bool AddAborted()
    {
        Interlocked.Increment(ref _aborted);
        return MarkDue();
    }

    /// <summary>The histogram's count in <paramref name="bucket"/> so far.</summary>
    public long Bucket(int bucket) => Volatile.Read(ref _buckets[bucket]);

    /// <summary>Called by the folding actor before it reads: the next add asks for a fold again.</summary>
    public void ClearDue() => Volatile.Write(ref _due, 0);

    // a plain read first: under load the flag is almost always already set, and a read keeps the cache line shared
    private bool MarkDue() => Volatile.Read(ref _due) == 0 && Interlocked.Exchange(ref _due, 1) == 0;
}

/// <summary>Told to a backend's actor (or cluster link) when its <see cref="OutcomeTally"/> has outcomes to fold.</summary>
public sealed record TallyDue
{
    public static readonly TallyDue Instance = new();

    /// <summary>What the actor does on <see cref="TallyDue"/>: a <see cref="FoldTally"/> to itself in
    /// <see cref="OutcomeTally.FoldDelay"/>, unless one is already on its way.</summary>
    public static void ScheduleFold(Akka.Actor.ITimerScheduler timers)
    {
        if (!timers.IsTimerActive(nameof(FoldTally)))
            timers.StartSingleTimer(nameof(FoldTally), FoldTally.Instance, OutcomeTally.FoldDelay);
    }
}

/// <summary>The actor's own timer tick: time to fold its backend's <see cref="OutcomeTally"/>.</summary>
public sealed record FoldTally
{
    public static readonly FoldTally Instance = new();
}

/// <summary>What one fold took from a tally.</summary>
/// <param name="Answered">Answered requests counted since the last fold.</param>
/// <param name="Aborted">Requests whose client left, counted since the last fold.</param>
/// <param name="MeanLatency">Mean latency of the answered ones; zero when there are none.</param>
public readonly record struct TallyDelta(long Answered, long Aborted, TimeSpan MeanLatency)
{
    public long Count => Answered + Aborted;
}

/// <summary>
/// The actor's side of an <see cref="OutcomeTally"/>: what it has folded so far. Lives in <see cref="BackendMemory"/>,
/// so an actor's next incarnation goes on where the last one stopped. Single-threaded (the current incarnation).
/// </summary>
public sealed class TallyCursor
{
    private readonly long[] _seen = new long[LatencyStats.BucketCount];
    private long _answered;
    private long _aborted;
    private long _latencyTicks;

    /// <summary>Answered requests the guard has been told of; the guard may lag the counters (see
    /// <see cref="GuardNews"/>).</summary>
    public long GuardSeen { get; private set; }

    /// <summary>
    /// Folds what <paramref name="tally"/> gained since the last fold into <paramref name="stats"/> (histogram and
    /// EWMA) and returns the counts.
    /// </summary>
    public TallyDelta Fold(OutcomeTally tally, LatencyStats stats)
    {
        tally.ClearDue();
        var answered = tally.Answered;
        var aborted = tally.Aborted;
        var ticks = tally.LatencyTicks;
        var delta = new TallyDelta(answered - _answered, aborted - _aborted,
            answered > _answered ? TimeSpan.FromTicks((ticks - _latencyTicks) / (answered - _answered)) : TimeSpan.Zero);
        if (delta.Answered > 0)
        {
            // a bucket may already hold a request whose count is not read yet: it is folded now, its count next time
            for (var i = 0; i < _seen.Length; i++)
            {
                var now = tally.Bucket(i);
                if (now == _seen[i]) continue;
                stats.AddToBucket(i, now - _seen[i]);
                _seen[i] = now;
            }
            stats.MoveEwma(delta.MeanLatency, delta.Answered);
        }
        (_answered, _aborted, _latencyTicks) = (answered, aborted, ticks);
        return delta;
    }

    /// <summary>
    /// Answered requests the guard has not heard of, up to <paramref name="upTo"/> (a failure's
    /// <see cref="RequestOutcome.AnsweredBefore"/>, so the successes before it come first and those after it, after);
    /// marks them heard. Call after <see cref="Fold"/>.
    /// </summary>
    public long GuardNews(long upTo = long.MaxValue)
    {
        var until = Math.Min(upTo, _answered);
        if (until <= GuardSeen) return 0;
        var news = until - GuardSeen;
        GuardSeen = until;
        return news;
    }
}
