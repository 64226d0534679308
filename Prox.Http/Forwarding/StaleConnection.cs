using System.Net.Sockets;
using Microsoft.AspNetCore.Http;
using Yarp.ReverseProxy.Forwarder;

namespace Prox.Http.Forwarding;

/// <summary>
/// Tells a pooled connection the backend closed while it sat idle from a backend that fails. Origins close idle
/// keep-alive connections on their own clock (Node.js after 5 s, Apache after 5 s); a request that goes out on such a
/// connection just as the backend closes it is reset or sees the response end before a byte. SocketsHttpHandler
/// retries that itself only for a request it has not begun to send; the rest reach us as a failed request, and
/// counted as the backend's failures a burst of them ejects a backend that was up all along.
/// </summary>
internal static class StaleConnection
{
    /// <summary>The attempt failed the way a request on a connection closed under it fails: reset, aborted or ended
    /// before a response, not refused, unreachable or timed out (those are the backend's).</summary>
    public static bool Is(HttpContext ctx, ForwarderError error)
    {
        if (error != ForwarderError.Request || ctx.RequestAborted.IsCancellationRequested) return false;
        if (ctx.Features.Get<IForwarderErrorFeature>()?.Exception is not HttpRequestException hre) return false;
        if (hre.HttpRequestError == HttpRequestError.ResponseEnded) return true;
        // ConnectionError: no connection could be made at all, which is the backend's failure
        if (hre.HttpRequestError is HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError
            or HttpRequestError.SecureConnectionError) return false;
        for (var e = hre.InnerException; e is not null; e = e.InnerException)
        {
            if (e is SocketException { SocketErrorCode: SocketError.ConnectionReset or SocketError.ConnectionAborted or SocketError.Shutdown })
                return true;
        }
        return false;
    }

    /// <summary>The request can go again: it has no body (a streamed body, once read, is gone) and nothing of the
    /// response has reached the client. Any method: a connection closed while idle never carried it to the backend.</summary>
    public static bool CanResend(HttpContext ctx) => !ctx.Response.HasStarted && !HasBody(ctx.Request);

    /// <summary>A body is streamed, not buffered: once sent it cannot be sent again.</summary>
    public static bool HasBody(HttpRequest req) => req.ContentLength > 0 || req.Headers.ContainsKey("Transfer-Encoding");
}
