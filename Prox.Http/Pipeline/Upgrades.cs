using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Prox.Http.Pipeline;

/// <summary>How a request asks for a WebSocket, for the stages that treat one differently (hygiene lets the HTTP/2
/// form through; the WebSocket stage takes both).</summary>
public static class Upgrades
{
    /// <summary>An HTTP/1.x upgrade to <c>websocket</c>, or an HTTP/2 extended CONNECT for one.</summary>
    public static bool IsWebSocket(HttpContext http)
    {
        var upgrade = http.Request.Headers.Upgrade;
        if (upgrade.Count > 0)
            foreach (var v in upgrade)
                if (v is not null && v.Contains("websocket", StringComparison.OrdinalIgnoreCase)) return true;
        return HttpMethods.IsConnect(http.Request.Method) && IsExtendedConnect(http);
    }

    /// <summary>An HTTP/2 (or 3) extended CONNECT whose <c>:protocol</c> is <c>websocket</c> (RFC 8441).</summary>
    public static bool IsExtendedConnect(HttpContext http) =>
        http.Features.Get<IHttpExtendedConnectFeature>() is { IsExtendedConnect: true } f
        && string.Equals(f.Protocol, "websocket", StringComparison.OrdinalIgnoreCase);
}
