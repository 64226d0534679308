using System.Diagnostics;
using System.Net.Http;
using System.Net.Sockets;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Akka.Actor;
using Microsoft.Extensions.Logging;
using Prox.Actors.Backends;
using Prox.Actors.Config;
using Prox.Actors.Routing;
using Prox.Actors.Breaker;
using Prox.Actors.Selection;
using Prox.Http.Dedup;
using Prox.Http.Errors;
using Yarp.ReverseProxy.Forwarder;

namespace Prox.Http.Forwarding;

/// <summary>
/// The proxy's request path: hygiene checks, route match, backend selection from the route snapshot,
/// forwarding through YARP, retries, and an outcome Tell to the backend's actor. Awaits no actor, except on a
/// route with dedup on, where the route actor decides whether a request leads or follows (<see cref="Coalescing"/>).
/// </summary>
public sealed partial class ProxyHandler
{
    private readonly ProxRuntime _rt;
    private readonly IHttpForwarder _forwarder;
    private readonly ForwardingClients _clients;
    private readonly ILogger<ProxyHandler> _log;

    public ProxyHandler(ProxRuntime rt, IHttpForwarder forwarder, ForwardingClients clients, ILogger<ProxyHandler> log)
    {
        _rt = rt;
        _forwarder = forwarder;
        _clients = clients;
        _log = log;
    }

    public async Task InvokeAsync(HttpContext ctx)
    {
        var req = ctx.Request;
        var trusted = _rt.TrustedProxies.IsTrusted(ctx.Connection.RemoteIpAddress);
        var requestId = RequestIds.Resolve(req, trusted);

        if (HttpMethods.IsConnect(req.Method))
        {
            await Problems.WriteAsync(ctx, StatusCodes.Status405MethodNotAllowed, "Method not allowed",
                "Prox is a reverse proxy and does not tunnel CONNECT requests.", requestId, headers: ("Allow", "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"));
            return;
        }

        // RFC 9112 §6.3: both framings at once is how requests get smuggled; never pass it on.
        // Kestrel itself drops Content-Length in that case and keeps its value as X-Content-Length.
        if (req.Headers.ContainsKey("Transfer-Encoding")
            && (req.Headers.ContainsKey("Content-Length") || req.Headers.ContainsKey("X-Content-Length")))
        {
            // the rest of this connection cannot be trusted
            await Problems.WriteAsync(ctx, StatusCodes.Status400BadRequest, "Ambiguous message framing",
                "The request has both Content-Length and Transfer-Encoding.", requestId, headers: ("Connection", "close"));
            return;
        }

        var host = req.Host.Host;
        var found = _rt.Store.Table.Match(host, req.Path.Value ?? "/");
        if (found is not { } match || (IsAbsoluteForm(ctx) && !match.ByHost))
        {
            await Problems.WriteAsync(ctx, StatusCodes.Status404NotFound, "No route",
                "No route matches this host and path.", requestId);
            return;
        }

        var snap = match.Slot.Current;
        if (snap is null)
        {
            await Problems.WriteAsync(ctx, StatusCodes.Status503ServiceUnavailable, "Starting",
                "The route is starting.", requestId, retryAfterSeconds: 1);
            return;
        }

        if (_rt.Config.Limits.MaxRequestBodyBytes is { } max && req.ContentLength > max)
        {
            await Problems.WriteAsync(ctx, StatusCodes.Status413PayloadTooLarge, "Request body too large",
                $"The request body is larger than the limit of {max} bytes.", requestId);
            return;
        }

        // routes without a cache pay one null check here and nothing else
        if (snap.Config.Cache is { Enabled: true } cache && (HttpMethods.IsGet(req.Method) || HttpMethods.IsHead(req.Method)))
        {
            await CachedAsync(ctx, match.Slot, snap, cache, match.Prefix, requestId, trusted);
            return;
        }

        // dedup off costs one field read: no key, no actor hop
        if (snap.Config.Dedup is { Enabled: true } dedup && Coalescing.Applies(dedup, req))
        {
            await Coalescing.InvokeAsync(this, ctx, snap, dedup, match.Prefix, requestId, trusted);
            return;
        }

        var result = await ForwardAsync(ctx, snap, match.Prefix, requestId, trusted);
        if (result.Failure != Failure.None)
            await WriteFailureAsync(ctx, snap, result, requestId);
    }

    /// <summary>How a forward ended when no backend response reached the client.</summary>
    internal enum Failure { None, Client, Connect, Timeout, HeldBackStatus, Upstream, TooLarge, NoBackend }

    /// <param name="HeldBack">With <see cref="Failure.HeldBackStatus"/>: the status every backend tried answered.</param>
    internal readonly record struct ForwardResult(Failure Failure, int HeldBack = 0)
    {
        /// <summary>A failure Prox answers itself (502, 503, 504, 413); not a client that left.</summary>
        public bool IsProxFailure => Failure is not (Failure.None or Failure.Client);
    }

    /// <summary>
    /// Forwards with retries until a backend's response has gone to the client (<see cref="Failure.None"/>), the
    /// client left, or a failure remains for the caller to answer with <see cref="WriteFailureAsync"/>.
    /// </summary>
    /// <param name="cacheLabel">The <c>X-Cache</c> value for the backend's response; null on routes without a cache.</param>
    /// <param name="holdBackErrors">A stale entry can stand in (stale-if-error): hold back 500/502/503/504 as well.</param>
    /// <param name="revalidate">An expired entry with validators: asked for conditionally (a 304 is held back).</param>
    internal async Task<ForwardResult> ForwardAsync(HttpContext ctx, RouteSnapshot snap, string prefix, string requestId, bool trusted,
        string? cacheLabel = null, bool holdBackErrors = false, Cache.Revalidation? revalidate = null)
    {
        var route = snap.Config;
        var retries = route.Retries;
        var transformer = new ProxTransformer(snap, prefix, requestId, trusted) { CacheLabel = cacheLabel, Revalidate = revalidate };
        var client = _clients.For(route.Timeouts.Connect);
        var retryable = CanRetry(ctx.Request, retries);
        var started = Stopwatch.GetTimestamp();
        var budget = route.Timeouts.Request;
        var tried = new TriedSet();
        var lastFailure = Failure.None;

        for (var attempt = 0; ; attempt++)
        {
            var idx = PickAdmitted(snap, ref tried, out var trial);
            if (idx < 0)
                return attempt == 0 ? new ForwardResult(Failure.NoBackend) : new ForwardResult(lastFailure);
            var backend = snap.Eligible[idx];

            var remaining = budget - Stopwatch.GetElapsedTime(started);
            if (remaining <= TimeSpan.Zero)
                return new ForwardResult(Failure.Timeout);
            var perAttempt = backend.Live.Config.Timeout is { } t && t < remaining ? t : remaining;
            var moreLeft = retryable && attempt < retries.Attempts && tried.Count < snap.Eligible.Length;
            // with a stale entry to fall back on, error statuses are held back too (RFC 5861 §4: 500, 502, 503, 504)
            transformer.BeginAttempt(backend, holdBackErrors ? HoldBackWithStale(retries.OnStatuses, moreLeft)
                : moreLeft ? retries.OnStatuses : default);

            var t0 = Stopwatch.GetTimestamp();
            backend.Live.Enter();
            ForwarderError error;
            try
            {
                error = await _forwarder.SendAsync(ctx, backend.Live.DestinationPrefix, client,
                    RequestConfig(perAttempt, route.Timeouts.Request, backend.Live.Config.Timeout), transformer);
            }
            finally
            {
                backend.Live.Exit();
            }
            var elapsed = Stopwatch.GetElapsedTime(t0);

            var (kind, failure) = Classify(ctx, error, transformer);
            backend.Live.Mailbox.Tell(new RequestOutcome(kind, transformer.BackendStatus, elapsed) { Trial = trial }, ActorRefs.NoSender);

            if (failure == Failure.None) return default; // the response went to the client
            if (failure == Failure.Client) return new ForwardResult(Failure.Client); // the client left or broke its request; nothing to say
            lastFailure = failure;

            var canRetryThis = moreLeft && failure switch
            {
                Failure.HeldBackStatus => retries.OnStatuses.Contains(transformer.HeldBackStatus),
                Failure.Connect => (retries.On & RetryConditions.ConnectFailure) != 0,
                Failure.Timeout => (retries.On & RetryConditions.Timeout) != 0,
                _ => false,
            };
            if (!canRetryThis || ctx.Response.HasStarted)
                return new ForwardResult(failure, transformer.HeldBackStatus);

            ctx.Response.Clear();
            var delay = Prox.Actors.Timing.Backoff.Delay(attempt + 1, retries.Backoff, retries.MaxBackoff, Prox.Actors.Timing.Jitter.Equal, Random.Shared.NextDouble());
            var left = budget - Stopwatch.GetElapsedTime(started);
            // a spent budget skips the wait; the next turn of the loop answers 504
            if (delay > TimeSpan.Zero && left > TimeSpan.Zero)
            {
                try
                {
                    await Task.Delay(delay < left ? delay : left, ctx.RequestAborted);
                }
                catch (OperationCanceledException)
                {
                    return new ForwardResult(Failure.Client); // client gone
                }
            }
        }
    }

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

    /// <summary>The first attempt (full budget) reuses one config per timeout; later, trimmed attempts allocate.</summary>
    private static ForwarderRequestConfig RequestConfig(TimeSpan perAttempt, TimeSpan routeTimeout, TimeSpan? backendTimeout)
    {
        // within 50 ms of the full route budget counts as the full budget, so first attempts share a config
        var full = backendTimeout is { } bt ? perAttempt == bt : perAttempt >= routeTimeout - TimeSpan.FromMilliseconds(50);
        if (full)
            return RequestConfigs.GetOrAdd(backendTimeout ?? routeTimeout, static t => new ForwarderRequestConfig { ActivityTimeout = t });
        return new ForwarderRequestConfig { ActivityTimeout = perAttempt };
    }

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<TimeSpan, ForwarderRequestConfig> RequestConfigs = new();

    private static (OutcomeKind, Failure) Classify(HttpContext ctx, ForwarderError error, ProxTransformer tr)
    {
        if (error == ForwarderError.None)
        {
            if (tr.HeldBackStatus != 0) return (OutcomeKind.GatewayStatus, Failure.HeldBackStatus);
            var s = tr.BackendStatus;
            return (s is 502 or 503 or 504 ? OutcomeKind.GatewayStatus : OutcomeKind.Success, Failure.None);
        }

        var ex = ctx.Features.Get<IForwarderErrorFeature>()?.Exception;
        return error switch
        {
            ForwarderError.RequestTimedOut => (OutcomeKind.Timeout, Failure.Timeout),
            ForwarderError.Request when ctx.RequestAborted.IsCancellationRequested => (OutcomeKind.ClientAbort, Failure.Client),
            ForwarderError.Request => (OutcomeKind.ConnectFailure, IsTimeout(ex) ? Failure.Timeout : Failure.Connect),
            ForwarderError.RequestCanceled or ForwarderError.RequestBodyCanceled or ForwarderError.ResponseBodyCanceled
                or ForwarderError.RequestBodyClient or ForwarderError.ResponseBodyClient
                or ForwarderError.UpgradeRequestClient or ForwarderError.UpgradeResponseClient
                => (OutcomeKind.ClientAbort, IsTooLarge(ex) ? Failure.TooLarge : Failure.Client),
            _ => (OutcomeKind.ProtocolFailure, Failure.Upstream),
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
        // a body is streamed, not buffered: once sent it cannot be sent again
        var hasBody = req.ContentLength > 0 || req.Headers.ContainsKey("Transfer-Encoding");
        if (hasBody) return false;
        return retries.NonIdempotent || IsIdempotent(req.Method);
    }

    private static bool IsIdempotent(string method) =>
        HttpMethods.IsGet(method) || HttpMethods.IsHead(method) || HttpMethods.IsOptions(method)
        || HttpMethods.IsPut(method) || HttpMethods.IsDelete(method) || HttpMethods.IsTrace(method);

    private static bool IsAbsoluteForm(HttpContext ctx)
    {
        var raw = ctx.Features.Get<IHttpRequestFeature>()?.RawTarget;
        return raw is not null && raw.Length > 0 && raw[0] != '/' && raw[0] != '*';
    }

    /// <summary>Answers a failure <see cref="ForwardAsync"/> returned (nothing when the client left or the response
    /// had already started).</summary>
    /// <param name="coalesced">The <c>X-Coalesced</c> header to send with it, if any.</param>
    internal static Task WriteFailureAsync(HttpContext ctx, RouteSnapshot snap, ForwardResult result, string requestId, string? coalesced = null)
    {
        (string, string)[] headers = coalesced is null ? [] : [(Coalescing.Header, coalesced)];
        switch (result.Failure)
        {
            case Failure.None or Failure.Client:
                return Task.CompletedTask;
            case Failure.NoBackend:
                var retryAfter = 1;
                if (snap.NextReturn is { } next)
                    retryAfter = Math.Max(1, (int)Math.Ceiling((next - DateTimeOffset.UtcNow).TotalSeconds));
                return Problems.WriteAsync(ctx, StatusCodes.Status503ServiceUnavailable, "No healthy backend",
                    $"Every backend of route '{snap.Id}' is unavailable.", requestId, retryAfter, headers: headers);
            default:
                return WriteFailureAsync(ctx, result.Failure, requestId, result.HeldBack, headers);
        }
    }

    private static Task WriteFailureAsync(HttpContext ctx, Failure failure, string requestId, int heldBack, (string, string)[] headers) => failure switch
    {
        Failure.Timeout => Problems.WriteAsync(ctx, StatusCodes.Status504GatewayTimeout, "Upstream timeout",
            "The backend did not respond in time.", requestId, headers: headers),
        Failure.HeldBackStatus when heldBack == StatusCodes.Status503ServiceUnavailable =>
            Problems.WriteAsync(ctx, StatusCodes.Status503ServiceUnavailable, "Upstream unavailable",
                "Every backend tried answered 503.", requestId, retryAfterSeconds: 1, headers: headers),
        Failure.HeldBackStatus when heldBack == StatusCodes.Status504GatewayTimeout =>
            Problems.WriteAsync(ctx, StatusCodes.Status504GatewayTimeout, "Upstream timeout",
                "Every backend tried answered 504.", requestId, headers: headers),
        Failure.TooLarge => Problems.WriteAsync(ctx, StatusCodes.Status413PayloadTooLarge, "Request body too large",
            "The request body is larger than the configured limit.", requestId, headers: headers),
        Failure.Connect => Problems.WriteAsync(ctx, StatusCodes.Status502BadGateway, "Upstream connection failed",
            "No backend could be reached.", requestId, headers: headers),
        _ => Problems.WriteAsync(ctx, StatusCodes.Status502BadGateway, "Bad gateway",
            "The backend failed to give a valid response.", requestId, headers: headers),
    };
}
