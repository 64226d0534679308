using Microsoft.AspNetCore.Http;
using Prox.Http.Errors;
using Prox.Http.Pipeline;

namespace Prox.Http.Hygiene;

/// <summary>Refuses what a reverse proxy must never pass on, before anything else looks at the request:
/// CONNECT (405; an HTTP/2 extended CONNECT for a WebSocket is not one), ambiguous message framing (400) and header names that are not tokens (400). First it puts back the
/// Connection header names Kestrel dropped (<see cref="ConnectionHeaderCapture"/>), so the forwarder removes them.</summary>
public sealed class HygieneStage : IProxyStage
{
    /// <summary>The methods Prox forwards, for the <c>Allow</c> header of its own 405 and OPTIONS answers.</summary>
    internal const string Allow = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS";

    public ValueTask InvokeAsync(ProxyContext ctx, ProxyStageDelegate next)
    {
        var req = ctx.Http.Request;
        ConnectionHeaderCapture.Restore(req);
        // an HTTP/2 extended CONNECT for a WebSocket (RFC 8441) is not a tunnel: the WebSocket stage takes it
        if (HttpMethods.IsConnect(req.Method) && !Upgrades.IsExtendedConnect(ctx.Http))
        {
            return new ValueTask(Problems.WriteAsync(ctx.Http, StatusCodes.Status405MethodNotAllowed, "Method not allowed",
                "Prox is a reverse proxy and does not tunnel CONNECT requests.", ctx.RequestId,
                headers: ("Allow", Allow)));
        }

        // RFC 9112 §6.3: both framings at once is how requests get smuggled; never pass it on.
        // Kestrel itself drops Content-Length in that case and keeps its value as X-Content-Length.
        if (req.Headers.ContainsKey("Transfer-Encoding")
            && (req.Headers.ContainsKey("Content-Length") || req.Headers.ContainsKey("X-Content-Length")))
        {
            // the rest of this connection cannot be trusted
            return new ValueTask(Problems.WriteAsync(ctx.Http, StatusCodes.Status400BadRequest, "Ambiguous message framing",
                "The request has both Content-Length and Transfer-Encoding.", ctx.RequestId, headers: ("Connection", "close")));
        }

        // Kestrel accepts any visible ASCII in a name and the forwarder would silently drop it: refuse it instead. Over
        // HTTP/1.1 Kestrel's header-decoding callback has seen every name already; the headers are only walked when it
        // saw a bad one (or for another protocol, whose headers are not decoded in the request's flow)
        if (ConnectionHeaderCapture.TakeBadName() || (!HttpProtocol.IsHttp11(req.Protocol) && !HttpProtocol.IsHttp10(req.Protocol)))
        {
            foreach (var header in req.Headers)
            {
                if (header.Key.AsSpan().ContainsAnyExcept(ConnectionHeaderCapture.TokenChars))
                {
                    return new ValueTask(Problems.WriteAsync(ctx.Http, StatusCodes.Status400BadRequest, "Invalid header name",
                        "A header name may only contain token characters (RFC 9110 §5.1).", ctx.RequestId));
                }
            }
        }

        return next(ctx);
    }
}
