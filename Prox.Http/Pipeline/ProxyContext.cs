using Microsoft.AspNetCore.Http;
using Prox.Actors.Config;
using Prox.Actors.Routing;

namespace Prox.Http.Pipeline;

/// <summary>
/// What the stages of one request share: the ASP.NET Core context, the request id and trust decision made when
/// the request entered, and (from the route-match stage on) the matched route. One small object per request.
/// </summary>
public sealed class ProxyContext
{
    public ProxyContext(HttpContext http, string requestId, bool trusted)
    {
        Http = http;
        RequestId = requestId;
        Trusted = trusted;
    }

    /// <summary>The request being served (a detached copy for a coalescing leader or a background refresh).</summary>
    public HttpContext Http { get; }

    /// <summary>The <c>X-Request-Id</c> of this request: a trusted peer's, or a new one.</summary>
    public string RequestId { get; }

    /// <summary>The peer is a trusted proxy: its X-Forwarded-* and X-Request-Id headers are believed.</summary>
    public bool Trusted { get; }

    /// <summary>The matched route's slot, whose <see cref="RouteSlot.Current"/> is always its newest snapshot.
    /// Set by the route-match stage; every later stage may rely on it.</summary>
    public RouteSlot Slot { get; private set; } = null!;

    /// <summary>The matched route as published when the request was matched. Set by the route-match stage.</summary>
    public RouteSnapshot Snapshot { get; private set; } = null!;

    /// <summary>The matched route's config (the snapshot's).</summary>
    public RouteConfig Route => Snapshot.Config;

    /// <summary>The path prefix the route matched by (stripped before forwarding when the route says so).</summary>
    public string Prefix { get; private set; } = "";

    /// <summary>Set by a stage whose pending task answers its own errors (<see cref="Errors.Boundary"/>) and never faults:
    /// the pipeline then hands that task to the server as it is, with no wrapper around it.</summary>
    public bool AnswersOwnErrors { get; set; }

    /// <summary>A WebSocket upgrade (HTTP/1.1 <c>Upgrade: websocket</c> or an HTTP/2 extended CONNECT): forwarded under
    /// the route's <c>websocket</c> settings, never cached or coalesced.</summary>
    public bool IsWebSocket { get; set; }

    /// <summary>Records the route the request matched.</summary>
    public void SetRoute(RouteSlot slot, RouteSnapshot snapshot, string prefix)
    {
        Slot = slot;
        Snapshot = snapshot;
        Prefix = prefix;
    }

    /// <summary>The same request on another context (a detached copy), with the same route and trust.</summary>
    /// <param name="requestId">The copy's own request id; null keeps this request's.</param>
    /// <param name="snapshot">The route as published now; null keeps this request's snapshot.</param>
    public ProxyContext On(HttpContext http, string? requestId = null, RouteSnapshot? snapshot = null)
    {
        var copy = new ProxyContext(http, requestId ?? RequestId, Trusted);
        copy.SetRoute(Slot, snapshot ?? Snapshot, Prefix);
        return copy;
    }
}
