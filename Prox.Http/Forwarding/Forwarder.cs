using System.Collections.Immutable;
using System.Diagnostics;
using Microsoft.AspNetCore.Http;
using Prox.Actors.Backends;
using Prox.Actors.Config;
using Prox.Actors.Routing;
using Prox.Actors.Breaker;
using Prox.Actors.Selection;
using Prox.Actors.Timing;
using Microsoft.Extensions.Logging;
using Prox.Http.Errors;
using Prox.Http.Pipeline;
using Yarp.ReverseProxy.Forwarder;

namespace Prox.Http.Forwarding;

/// <summary>
/// The one way a request reaches a backend: select from the route snapshot, forward through YARP, classify the
/// outcome, retry on another backend when the route allows it, and report every attempt to the backend
/// (<see cref="BackendLive.Report"/>: a count for an answer, a Tell for a failure). Awaits no actor. The forward
/// stage, the cache (misses, revalidations, background refreshes) and the
/// coalescing leader all call it; it calls nothing back.
/// </summary>
public sealed class Forwarder
{
    private readonly IHttpForwarder _forwarder;
    private readonly ForwardingClients _clients;
    private readonly ILogger _log;

    public Forwarder(IHttpForwarder forwarder, ForwardingClients clients, ILogger<Forwarder> log)
    {
        _forwarder = forwarder;
        _clients = clients;
        _log = log;
    }

    /// <summary>
    /// Forwards <paramref name="pc"/>'s request to its route's backends, with retries, until a backend's response
    /// has gone to the client (<see cref="ProxyFailureKind.None"/>), the client left, or a failure remains for the
    /// caller to answer with <see cref="ProxyFailure.WriteAsync"/>.
    /// </summary>
    /// <param name="cacheLabel">The <c>X-Cache</c> value for the backend's response; null on routes without a cache.</param>
    /// <param name="holdBackAlways">Statuses held back even on the last attempt, because the caller has something
    /// better to answer with (the cache's stale entry: RFC 5861 §4's 500, 502, 503, 504). Default: none.</param>
    /// <param name="revalidate">An expired entry's validators: asked for conditionally (a 304 is held back).</param>
    public Task<ProxyFailure> ForwardAsync(ProxyContext pc, string? cacheLabel = null,
        ImmutableArray<int> holdBackAlways = default, Revalidation? revalidate = null) =>
        RunAsync(pc, ProxTransformer.Rent(pc, cacheLabel, revalidate, holdBackAlways), answer: false);

    /// <summary>The forward stage: forwards <paramref name="pc"/>'s request as <see cref="ForwardAsync"/> does and
    /// answers a failure with its problem response, all in one task that never faults (an error is logged and answered
    /// 500 inside it), so the server can await it without a wrapper.</summary>
    public Task ServeAsync(ProxyContext pc) => RunAsync(pc, ProxTransformer.Rent(pc, null, null, default), answer: true);

    /// <param name="answer">The forward stage's call (<see cref="ServeAsync"/>): failures are answered here, and any
    /// error is caught here (<see cref="Boundary"/>), so the task never faults.</param>
    /// <remarks>What lives across its awaits sits on the (pooled) transformer or is read again from <paramref name="pc"/>
    /// rather than kept in locals: every local read after an await is a field of the state this method allocates per
    /// request.</remarks>
    private async Task<ProxyFailure> RunAsync(ProxyContext pc, ProxTransformer transformer, bool answer)
    {
        try
        {
            var client = _clients.For(pc.Route.Timeouts.Connect);
            var retryable = CanRetry(pc.Http.Request, pc.Route.Retries);
            transformer.Started = Stopwatch.GetTimestamp();
            var lastFailure = ProxyFailureKind.None;

            for (var attempt = 0; ; attempt++)
            {
                var idx = PickAdmitted(pc.Snapshot, ref transformer.Tried, out var trial);
                transformer.Trial = trial;
                if (idx < 0)
                    return await Done(pc, answer, new ProxyFailure(attempt == 0 ? ProxyFailureKind.NoBackend : lastFailure));
                var backend = pc.Snapshot.Eligible[idx];

                var remaining = pc.Route.Timeouts.Request - Stopwatch.GetElapsedTime(transformer.Started);
                if (remaining <= TimeSpan.Zero)
                    return await Done(pc, answer, new ProxyFailure(ProxyFailureKind.Timeout));
                var perAttempt = backend.Live.Config.Timeout is { } t && t < remaining ? t : remaining;
                var moreLeft = retryable && attempt < pc.Route.Retries.Attempts && transformer.Tried.Count < pc.Snapshot.Eligible.Length;
                transformer.BeginAttempt(backend, transformer.HoldBackAlways.IsDefault ? (moreLeft ? pc.Route.Retries.OnStatuses : default)
                    : HoldBackWith(transformer.HoldBackAlways, pc.Route.Retries.OnStatuses, moreLeft));

                transformer.AttemptStarted = Stopwatch.GetTimestamp();
                // YARP's activity timeout is the longer of the idle limit and the attempt's full header wait, the same on
                // every attempt (one shared config); the timer cuts the attempt at the shorter of them
                // an upgraded connection lives as long as it is not silent for websocket.idle-timeout
                var activity = pc.IsWebSocket ? pc.Route.WebSocket.IdleTimeout
                    : Max(pc.Route.Timeouts.Idle, backend.Live.Config.Timeout ?? pc.Route.Timeouts.Request);
                var requestConfig = RequestConfigs.GetOrAdd(activity, static t => new ForwarderRequestConfig { ActivityTimeout = t });
                var body = StaleConnection.HasBody(pc.Http.Request) ? pc.Http.Request.Body : null;
                var timer = AttemptTimer.Start(perAttempt, pc.Route.Timeouts.Idle, activity, upload: body is not null);
                transformer.Timer = timer;
                // a request with a body goes once (no retry, no resend): its upload is watched for its end and silences
                if (timer is not null && body is not null)
                {
                    transformer.OriginalBody = body;
                    pc.Http.Request.Body = new WatchedStream(body, timer, upload: true);
                }
                ForwarderError error;
                OutcomeKind kind;
                ProxyFailureKind failure;
                try
                {
                    for (var sendClient = client; ; )
                    {
                        // inline, not a helper method: one more async frame per attempt would allocate on every request
                        transformer.Backend!.Live.Enter();
                        if (pc.IsWebSocket) transformer.Backend.Live.EnterWebSocket();
                        try
                        {
                            error = await _forwarder.SendAsync(pc.Http, transformer.Backend.Live.DestinationPrefix, sendClient, requestConfig, transformer,
                                timer?.Token ?? CancellationToken.None);
                        }
                        finally
                        {
                            transformer.Backend!.Live.Exit();
                            if (pc.IsWebSocket) transformer.Backend.Live.ExitWebSocket();
                        }
                        // the timer is linked to nothing: when it fired, a limit ran out (YARP reports a cancellation)
                        (kind, failure) = error != ForwarderError.None && transformer.Timer is { Fired: true }
                            ? (OutcomeKind.Timeout, ProxyFailureKind.Timeout)
                            : Classify(pc.Http, error, transformer);
                        if (sendClient != client || kind != OutcomeKind.ConnectFailure || !StaleConnection.Is(pc.Http, error)) break;
                        // the backend closed a pooled connection while it sat idle (its keep-alive timeout ran out as the
                        // request went out): nothing the backend did wrong. Once more on a connection of its own, if the
                        // request can go again; only that answer says something about the backend.
                        if (!StaleConnection.CanResend(pc.Http)) return await Done(pc, answer, new ProxyFailure(failure));
                        pc.Http.Response.Clear();
                        transformer.BeginAttempt(transformer.Backend!, transformer.HoldBackStatuses);
                        sendClient = _clients.Fresh(pc.Route.Timeouts.Connect);
                    }
                }
                finally
                {
                    if (transformer.OriginalBody is { } original) pc.Http.Request.Body = original;
                    transformer.OriginalBody = null;
                    transformer.Timer?.Return();
                    transformer.Timer = null;
                }
                var elapsed = Stopwatch.GetElapsedTime(transformer.AttemptStarted);
                // an answer is counted on the backend's tally; a failure or a trial is told to its actor at once
                transformer.Backend!.Live.Report(kind, transformer.BackendStatus, elapsed, transformer.Trial);

                if (failure == ProxyFailureKind.None) return default; // the response went to the client
                if (failure == ProxyFailureKind.Client) return await Done(pc, answer, new ProxyFailure(ProxyFailureKind.Client)); // the client left or broke its request; nothing to say
                lastFailure = failure;

                var canRetryThis = moreLeft && failure switch
                {
                    ProxyFailureKind.HeldBackStatus => pc.Route.Retries.OnStatuses.Contains(transformer.HeldBackStatus),
                    ProxyFailureKind.Connect => (pc.Route.Retries.On & RetryConditions.ConnectFailure) != 0,
                    ProxyFailureKind.Timeout => (pc.Route.Retries.On & RetryConditions.Timeout) != 0,
                    _ => false,
                };
                if (!canRetryThis || pc.Http.Response.HasStarted)
                    return await Done(pc, answer, new ProxyFailure(failure, transformer.HeldBackStatus));

                pc.Http.Response.Clear();
                var delay = Backoff.Delay(attempt + 1, pc.Route.Retries.Backoff, pc.Route.Retries.MaxBackoff, Jitter.Equal, Random.Shared.NextDouble());
                var left = pc.Route.Timeouts.Request - Stopwatch.GetElapsedTime(transformer.Started);
                // a spent pc.Route.Timeouts.Request skips the wait; the next turn of the loop answers 504
                if (delay > TimeSpan.Zero && left > TimeSpan.Zero)
                {
                    try
                    {
                        await Task.Delay(delay < left ? delay : left, pc.Http.RequestAborted);
                    }
                    catch (OperationCanceledException)
                    {
                        return await Done(pc, answer, new ProxyFailure(ProxyFailureKind.Client)); // client gone
                    }
                }
            }
        }
        catch (Exception e) when (answer && Boundary.Catches(e, pc.Http))
        {
            await Boundary.AnswerAsync(pc.Http, e, _log);
            return default;
        }
        finally
        {
            transformer.Return();
        }
    }

    private static ValueTask<ProxyFailure> Done(ProxyContext pc, bool answer, ProxyFailure failure) =>
        answer && failure.IsProxFailure ? AnswerAsync(pc, failure) : new ValueTask<ProxyFailure>(failure);

    private static async ValueTask<ProxyFailure> AnswerAsync(ProxyContext pc, ProxyFailure failure)
    {
        await failure.WriteAsync(pc);
        return failure;
    }

    private static ImmutableArray<int> HoldBackWith(ImmutableArray<int> always, ImmutableArray<int> retryStatuses, bool moreLeft) =>
        moreLeft && !retryStatuses.IsDefaultOrEmpty ? [.. retryStatuses.Union(always)] : always;

    /// <summary>
    /// Picks an untried backend the request may use, marking it tried. A backend whose breaker is half-open takes
    /// only as many requests as it has trial permits: losing the race for one just means picking again.
    /// </summary>
    /// <param name="trial">The permits the request won, when it is a breaker trial.</param>
    private static int PickAdmitted(RouteSnapshot snap, ref TriedSet tried, out HalfOpenPermits? trial)
    {
        while (true)
        {
            var idx = snap.Selector.Pick(snap.Eligible, in tried);
            if (idx < 0)
            {
                trial = null;
                return -1;
            }
            tried.Add(idx);
            trial = snap.Eligible[idx].Trials;
            if (trial is null || trial.TryAcquire()) return idx;
        }
    }

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<TimeSpan, ForwarderRequestConfig> RequestConfigs = new();

    private static (OutcomeKind, ProxyFailureKind) Classify(HttpContext ctx, ForwarderError error, ProxTransformer tr)
    {
        if (error == ForwarderError.None)
        {
            if (tr.HeldBackStatus != 0) return (OutcomeKind.GatewayStatus, ProxyFailureKind.HeldBackStatus);
            var s = tr.BackendStatus;
            return (s is 502 or 503 or 504 ? OutcomeKind.GatewayStatus : OutcomeKind.Success, ProxyFailureKind.None);
        }

        var ex = ctx.Features.Get<IForwarderErrorFeature>()?.Exception;
        return error switch
        {
            ForwarderError.RequestTimedOut => (OutcomeKind.Timeout, ProxyFailureKind.Timeout),
            ForwarderError.Request when ctx.RequestAborted.IsCancellationRequested => (OutcomeKind.ClientAbort, ProxyFailureKind.Client),
            ForwarderError.Request => (OutcomeKind.ConnectFailure, IsTimeout(ex) ? ProxyFailureKind.Timeout : ProxyFailureKind.Connect),
            // YARP's activity timeout ran out while the backend's body was awaited: the idle limit
            ForwarderError.ResponseBodyDestination when ex is OperationCanceledException => (OutcomeKind.Timeout, ProxyFailureKind.Timeout),
            ForwarderError.RequestCanceled or ForwarderError.RequestBodyCanceled or ForwarderError.ResponseBodyCanceled
                or ForwarderError.RequestBodyClient or ForwarderError.ResponseBodyClient
                or ForwarderError.UpgradeRequestClient or ForwarderError.UpgradeResponseClient
                => (OutcomeKind.ClientAbort, IsTooLarge(ex) ? ProxyFailureKind.TooLarge : ProxyFailureKind.Client),
            _ => (OutcomeKind.ProtocolFailure, ProxyFailureKind.Upstream),
        };
    }

    private static bool IsTimeout(Exception? ex) =>
        ex is OperationCanceledException || ex?.InnerException is TimeoutException || ex is TimeoutException;

    private static bool IsTooLarge(Exception? ex)
    {
        for (var e = ex; e is not null; e = e.InnerException)
        {
            if (e is BadHttpRequestException { StatusCode: StatusCodes.Status413PayloadTooLarge }) return true;
            if (e is AggregateException agg) return agg.InnerExceptions.Any(IsTooLarge);
        }
        return false;
    }

    private static bool CanRetry(HttpRequest req, RetryConfig retries)
    {
        if (retries.Attempts <= 0) return false;
        if (StaleConnection.HasBody(req)) return false;
        return retries.NonIdempotent || IsIdempotent(req.Method);
    }

    private static bool IsIdempotent(string method) =>
        HttpMethods.IsGet(method) || HttpMethods.IsHead(method) || HttpMethods.IsOptions(method)
        || HttpMethods.IsPut(method) || HttpMethods.IsDelete(method) || HttpMethods.IsTrace(method);
}
