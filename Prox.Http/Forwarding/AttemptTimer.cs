using System.Collections.Concurrent;

namespace Prox.Http.Forwarding;

/// <summary>
/// The limits of one forward attempt that YARP's one <c>ActivityTimeout</c> per send cannot express on its own: the wait
/// for response headers (the attempt's share of <c>timeouts.request</c>) and, when <c>timeouts.idle</c> is the shorter
/// of the two, the silence between body bytes. YARP's activity timeout is set to the longer one (see
/// <see cref="Forwarder"/>), and this timer cuts the attempt at the shorter one through the cancellation token given to
/// <c>SendAsync</c>.
/// <para>Phases: a request with a body starts <em>uploading</em> (its header wait starts when the upload ends, so a large
/// upload is not cut by the request timeout), then <em>awaits headers</em>, then streams the <em>body</em> once the
/// transformer sees the response headers.</para>
/// <para>Instances are pooled, as YARP pools its own activity token sources: a request rents one, arms it with
/// <c>CancelAfter</c> (the timer object lives inside the source and is reused) and returns it reset; no lock is taken
/// and nothing is allocated once the pool is warm. Its source is linked to nothing, so <see cref="Fired"/> means a limit
/// ran out, never that the client left.</para>
/// </summary>
internal sealed class AttemptTimer
{
    private const int Uploading = 0, AwaitingHeaders = 1, Body = 2;
    private const int MaxPooled = 1024;
    // re-arming the idle limit on every read would update the timer queue per chunk; within this resolution it is
    // skipped (YARP's own activity timeout does the same), so the limit may end up to this much early
    private const long ResolutionMs = 20;

    private static readonly ConcurrentQueue<AttemptTimer> Pool = new();
    private static int _pooled;

    private CancellationTokenSource _cts = new();
    private TimeSpan _headers;
    private TimeSpan _idle;
    private int _phase;
    private long _lastArmed;

    private AttemptTimer() { }

    /// <summary>Passed to YARP's <c>SendAsync</c>: cancelled when a limit runs out.</summary>
    public CancellationToken Token => _cts.Token;

    /// <summary>A limit ran out (the header wait or the idle limit), so the attempt timed out.</summary>
    public bool Fired => _cts.IsCancellationRequested;

    /// <summary>The idle limit is shorter than YARP's activity timeout, so body reads are watched here
    /// (<see cref="WatchedStream"/>); otherwise YARP's activity timeout is the idle limit.</summary>
    public bool WatchesIdle => _idle > TimeSpan.Zero;

    /// <summary>The timer an attempt needs, or null when YARP's activity timeout already is both limits.</summary>
    /// <param name="headers">The attempt's header wait: the rest of the request budget, or the backend's timeout.</param>
    /// <param name="idle">The route's <c>timeouts.idle</c>.</param>
    /// <param name="activity">The <c>ActivityTimeout</c> YARP runs this attempt with.</param>
    /// <param name="upload">The request has a body: the header wait starts when its upload ends.</param>
    public static AttemptTimer? Start(TimeSpan headers, TimeSpan idle, TimeSpan activity, bool upload)
    {
        var watchIdle = idle < activity;
        if (!watchIdle && headers >= activity) return null;
        var t = Rent();
        t._headers = headers;
        t._idle = watchIdle ? idle : TimeSpan.Zero;
        t._lastArmed = 0;
        t._phase = upload ? Uploading : AwaitingHeaders;
        t.Arm();
        return t;
    }

    /// <summary>The request body's upload ended: the header wait starts now.</summary>
    public void UploadEnded()
    {
        if (Interlocked.CompareExchange(ref _phase, AwaitingHeaders, Uploading) == Uploading) Arm();
    }

    /// <summary>Response headers arrived: the header wait is over, and body silence is all that is limited now.</summary>
    /// <param name="watchBody">False for an upgraded connection, which YARP copies both ways without a stream of ours
    /// to report the bytes: its silences are left to YARP's activity timeout.</param>
    public void HeadersArrived(bool watchBody)
    {
        if (!watchBody) _idle = TimeSpan.Zero;
        if (Interlocked.Exchange(ref _phase, Body) != Body) Arm();
    }

    /// <summary>Body bytes moved (either direction): the idle limit starts again.</summary>
    public void Touch()
    {
        if (_idle == TimeSpan.Zero || Volatile.Read(ref _phase) == AwaitingHeaders) return;
        var now = Environment.TickCount64;
        if (now - Volatile.Read(ref _lastArmed) < ResolutionMs) return;
        Volatile.Write(ref _lastArmed, now);
        _cts.CancelAfter(_idle);
    }

    /// <summary>Back to the pool, once YARP is done with the attempt (its link to <see cref="Token"/> is gone).</summary>
    public void Return()
    {
        if (!_cts.TryReset())
        {
            // a source that fired cannot be reset; the object can, with a new one
            _cts.Dispose();
            _cts = new CancellationTokenSource();
        }
        if (Interlocked.Increment(ref _pooled) <= MaxPooled) Pool.Enqueue(this);
        else Interlocked.Decrement(ref _pooled);
    }

    private static AttemptTimer Rent()
    {
        if (!Pool.TryDequeue(out var t)) return new AttemptTimer();
        Interlocked.Decrement(ref _pooled);
        return t;
    }

    /// <summary>Arms the limit of the current phase. Upload end and headers may race on two threads; the phase is read
    /// again after arming, so the last arming always matches the phase that stands.</summary>
    private void Arm()
    {
        while (true)
        {
            var phase = Volatile.Read(ref _phase);
            var limit = phase == AwaitingHeaders ? _headers : _idle == TimeSpan.Zero ? Timeout.InfiniteTimeSpan : _idle;
            _cts.CancelAfter(limit);
            if (Volatile.Read(ref _phase) == phase) return;
        }
    }
}
