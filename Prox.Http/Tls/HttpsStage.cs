using System.Globalization;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http;
using Prox.Http.Pipeline;
using Prox.Http.Runtime;

namespace Prox.Http.Tls;

/// <summary>
/// <c>redirect-to-https</c> and <c>hsts</c> of the matched route. A request that came without TLS to a route with
/// <c>redirect-to-https</c> is answered 308 (method and body kept, RFC 9110 §15.4.9) to the same host, path and query
/// on the first TLS listener. A response to a request over TLS on a route with <c>hsts</c> carries
/// <c>Strict-Transport-Security</c>, whoever wrote the response (backend, cache or Prox); never over cleartext
/// (RFC 6797 §7.2). "Over TLS" is the connection's TLS handshake, not what the request claims. Routes with neither pay
/// one check.
/// </summary>
public sealed class HttpsStage(ProxRuntime rt) : IProxyStage
{
    public ValueTask InvokeAsync(ProxyContext ctx, ProxyStageDelegate next)
    {
        var route = ctx.Route;
        if (!route.RedirectToHttps && route.Hsts is null) return next(ctx);

        var http = ctx.Http;
        var tls = http.Features.Get<ITlsHandshakeFeature>() is not null;
        if (!tls && route.RedirectToHttps) return new ValueTask(RedirectAsync(http, rt.HttpsPort));
        if (tls && route.Hsts is not null)
            http.Response.OnStarting(static state =>
            {
                var c = (ProxyContext)state;
                c.Http.Response.Headers.StrictTransportSecurity = c.Route.Hsts;
                return Task.CompletedTask;
            }, ctx);
        return next(ctx);
    }

    private static Task RedirectAsync(HttpContext http, int? port)
    {
        var req = http.Request;
        var host = req.Host.Host; // an IPv6 address comes in brackets
        var authority = port is null or 443 ? host : host + ":" + port.Value.ToString(CultureInfo.InvariantCulture);
        http.Response.StatusCode = StatusCodes.Status308PermanentRedirect;
        http.Response.Headers.Location = string.Concat("https://", authority, req.PathBase.Value, req.Path.Value, req.QueryString.Value);
        http.Response.ContentLength = 0;
        return Task.CompletedTask;
    }
}
