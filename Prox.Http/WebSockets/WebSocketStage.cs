using Microsoft.AspNetCore.Http;
using Prox.Http.Errors;
using Prox.Http.Forwarding;
using Prox.Http.Pipeline;

namespace Prox.Http.WebSockets;

/// <summary>
/// WebSocket upgrades: an HTTP/1.1 request with <c>Upgrade: websocket</c>, or an HTTP/2 extended CONNECT with
/// <c>:protocol websocket</c> (RFC 8441; YARP turns it into an HTTP/1.1 upgrade for a backend that needs one). On a route
/// with <c>websocket.enabled = false</c> it is answered 400, so the route never answers 101. Beyond
/// <c>websocket.max-connections</c> open on the route it is answered 503. Otherwise it goes straight to the
/// <see cref="Forwarder"/> (an upgrade is never cached or coalesced), whose attempt runs under
/// <c>websocket.idle-timeout</c> once upgraded, and is counted open on the route and its backend until it ends.
/// Any other request passes on after one header check.
/// </summary>
public sealed class WebSocketStage(Forwarder forwarder) : IProxyStage
{
    public ValueTask InvokeAsync(ProxyContext ctx, ProxyStageDelegate next)
    {
        var http = ctx.Http;
        if (!Upgrades.IsWebSocket(http)) return next(ctx);

        var ws = ctx.Route.WebSocket;
        if (!ws.Enabled)
            return new ValueTask(Problems.WriteAsync(http, StatusCodes.Status400BadRequest, "WebSocket not enabled",
                $"Route '{ctx.Route.Id}' does not forward WebSocket upgrades (websocket.enabled = false).", ctx.RequestId));
        if (!ctx.Slot.WebSockets.TryEnter(ws.MaxConnections))
            return new ValueTask(Problems.WriteAsync(http, StatusCodes.Status503ServiceUnavailable, "Too many WebSockets",
                $"Route '{ctx.Route.Id}' has its maximum of {ws.MaxConnections} WebSocket connections open.", ctx.RequestId,
                retryAfterSeconds: 1));
        ctx.IsWebSocket = true;
        ctx.AnswersOwnErrors = true;
        return new ValueTask(ServeAsync(ctx));
    }

    private async Task ServeAsync(ProxyContext ctx)
    {
        try
        {
            await forwarder.ServeAsync(ctx);
        }
        finally
        {
            ctx.Slot.WebSockets.Exit();
        }
    }
}
