using Microsoft.AspNetCore.Http;
using Prox.Http.Errors;
using Prox.Http.Pipeline;

namespace Prox.Http.Hygiene;

/// <summary>Refuses what a reverse proxy must never pass on, before anything else looks at the request:
/// CONNECT (405) and ambiguous message framing (400).</summary>
public sealed class HygieneStage : IProxyStage
{
    public ValueTask InvokeAsync(ProxyContext ctx, ProxyStageDelegate next)
    {
        var req = ctx.Http.Request;
        if (HttpMethods.IsConnect(req.Method))
        {
            return new ValueTask(Problems.WriteAsync(ctx.Http, StatusCodes.Status405MethodNotAllowed, "Method not allowed",
                "Prox is a reverse proxy and does not tunnel CONNECT requests.", ctx.RequestId,
                headers: ("Allow", "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS")));
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

        return next(ctx);
    }
}
