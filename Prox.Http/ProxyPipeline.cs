using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Prox.Http.Errors;
using Prox.Http.Cache;
using Prox.Http.Dedup;
using Prox.Http.Forwarding;
using Prox.Http.Hygiene;
using Prox.Http.Limits;
using Prox.Http.Pipeline;
using Prox.Http.Routing;
using Prox.Http.Runtime;
using Prox.Http.Tls;
using Prox.Http.WebSockets;

namespace Prox.Http;

/// <summary>
/// The proxy's request path, as a list of stages run in this order. Each stage is one class in its capability
/// folder; it sees the request's <see cref="ProxyContext"/> and either answers or passes it on.
/// <list type="number">
/// <item><see cref="HygieneStage"/> (Hygiene/): CONNECT → 405, both Content-Length and Transfer-Encoding → 400, a
/// header name that is not a token → 400.</item>
/// <item><see cref="RouteMatchStage"/> (Routing/): Prox not ready yet → 503, no route → 404, route not yet published
/// → 503; records the route.</item>
/// <item><see cref="HttpsStage"/> (Tls/): a request without TLS on a route with <c>redirect-to-https</c> → 308 to the
/// TLS listener; over TLS on a route with <c>hsts</c>, the response gets <c>Strict-Transport-Security</c>.</item>
/// <item><see cref="TraceStage"/> (Hygiene/): TRACK, and TRACE unless the route has <c>allow-trace</c> → 405;
/// TRACE (allowed) and OPTIONS with <c>Max-Forwards: 0</c> answered, other Max-Forwards values decremented.</item>
/// <item><see cref="LimitsStage"/> (Limits/): a declared body over <c>limits.max-request-body</c> → 413.</item>
/// <item><see cref="WebSocketStage"/> (WebSockets/): a WebSocket upgrade → 400 when the route has them off, 503 over
/// its <c>max-connections</c>, else forwarded at once (not cached or coalesced) under <c>websocket.idle-timeout</c>.</item>
/// <item><see cref="CacheStage"/> (Cache/): GET/HEAD on a route with <c>cache</c> on: answered from the cache, or
/// forwarded and stored; a successful unsafe request is passed on, then invalidates what it changed.</item>
/// <item><see cref="DedupStage"/> (Dedup/): on a route with <c>dedup</c> on, identical requests share one forward.</item>
/// <item><see cref="ForwardStage"/> (Forwarding/): the <see cref="Forwarder"/> selects, forwards, retries and
/// reports; a failure is answered with its <see cref="ProxyFailure"/> problem response.</item>
/// </list>
/// Before the first stage the request gets its request id and trust decision (<see cref="ProxyContext"/>).
/// </summary>
/// <remarks>
/// To add a stage (access control, rate limits, validation, transforms, …): write one <see cref="IProxyStage"/> class
/// in its capability folder, register it in <see cref="PipelineServices.AddProxPipeline"/>, and insert it where it
/// belongs in the constructor's list below (and in the list above). No other stage changes. A stage that is off for
/// the matched route returns <c>next(ctx)</c> after a null check. The chain is linked once, here; a request costs
/// one <see cref="ProxyContext"/>. The class sits in the root namespace because it composes every capability, and
/// nothing in Prox.Http imports the root; the stage contract (<see cref="IProxyStage"/>, <see cref="ProxyContext"/>)
/// sits in Pipeline/ and what stages share in Runtime/ (<see cref="ProxRuntime"/>), which import no stage, so no
/// capability folder imports another one back.
/// </remarks>
public sealed class ProxyPipeline
{
    private readonly ProxRuntime _rt;
    private readonly ILogger _log;
    private readonly ProxyStageDelegate _first;

    public ProxyPipeline(ProxRuntime rt, ILogger<ProxyPipeline> log, HygieneStage hygiene, RouteMatchStage routeMatch,
        HttpsStage https, TraceStage trace, LimitsStage limits, WebSocketStage webSocket, CacheStage cache, DedupStage dedup,
        ForwardStage forward)
    {
        _rt = rt;
        _log = log;
        Stages = [hygiene, routeMatch, https, trace, limits, webSocket, cache, dedup, forward];
        _first = Link(Stages);
    }

    /// <summary>The stages in the order a request meets them.</summary>
    public IReadOnlyList<IProxyStage> Stages { get; }

    /// <summary>
    /// Serves one request on a proxy listener, inside the <see cref="Boundary"/>: an error no stage handled is logged
    /// and answered 500. A forwarded request's task answers its own errors, so it goes to the server as it is; only
    /// other pending work (cache, coalescing) gets a wrapper.
    /// </summary>
    public Task InvokeAsync(HttpContext http)
    {
        var trusted = _rt.TrustedProxies.IsTrusted(http.Connection.RemoteIpAddress);
        var ctx = new ProxyContext(http, RequestIds.Resolve(http.Request, trusted), trusted);
        ValueTask served;
        try
        {
            served = _first(ctx);
        }
        catch (Exception e) when (Boundary.Catches(e, http))
        {
            return Boundary.AnswerAsync(http, e, _log);
        }
        if (served.IsCompletedSuccessfully) return Task.CompletedTask;
        return ctx.AnswersOwnErrors ? served.AsTask() : Boundary.GuardAsync(served, http, _log);
    }

    /// <summary>Links the stages back to front, so each one's <c>next</c> is the rest of the list.</summary>
    private static ProxyStageDelegate Link(IReadOnlyList<IProxyStage> stages)
    {
        // past the last stage: only reached if the forward stage were removed; nothing left to do
        ProxyStageDelegate next = static _ => ValueTask.CompletedTask;
        for (var i = stages.Count - 1; i >= 0; i--)
        {
            var stage = stages[i];
            var rest = next;
            next = ctx => stage.InvokeAsync(ctx, rest);
        }
        return next;
    }
}
