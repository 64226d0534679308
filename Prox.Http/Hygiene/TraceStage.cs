using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Prox.Http.Errors;
using Prox.Http.Pipeline;

namespace Prox.Http.Hygiene;

/// <summary>
/// TRACE, TRACK and Max-Forwards, after the route match because <c>allow-trace</c> is the route's:
/// TRACK always and TRACE by default get 405 (a backend echoing them reflects cookies and credentials to a script);
/// on a route with <c>allow-trace = true</c>, and for OPTIONS, Max-Forwards is honoured (RFC 9110 §7.6.2): 0 is
/// answered here, any other value is decremented before forwarding.
/// </summary>
public sealed class TraceStage : IProxyStage
{
    private const string MaxForwards = "Max-Forwards";

    /// <summary>Never echoed in a TRACE answer (RFC 9110 §9.3.8: leave out fields likely to hold sensitive data).</summary>
    private static readonly string[] Sensitive = ["Authorization", "Proxy-Authorization", "Cookie"];

    public ValueTask InvokeAsync(ProxyContext ctx, ProxyStageDelegate next)
    {
        var method = ctx.Http.Request.Method;
        if (HttpMethods.IsTrace(method))
        {
            if (!ctx.Snapshot.Config.AllowTrace) return Refuse(ctx, method);
            return AtLastHop(ctx) ? new ValueTask(EchoAsync(ctx.Http)) : next(ctx);
        }
        if (HttpMethods.IsOptions(method))
            return AtLastHop(ctx) ? new ValueTask(AllowAsync(ctx.Http)) : next(ctx);
        // TRACK is IIS's TRACE under another name: no route forwards it
        if (string.Equals(method, "TRACK", StringComparison.Ordinal)) return Refuse(ctx, method);
        return next(ctx);
    }

    private static ValueTask Refuse(ProxyContext ctx, string method) =>
        new(Problems.WriteAsync(ctx.Http, StatusCodes.Status405MethodNotAllowed, "Method not allowed",
            $"This route does not forward {method} requests.", ctx.RequestId, headers: ("Allow", HygieneStage.Allow)));

    /// <summary>True when Max-Forwards is 0, so Prox is the final recipient; otherwise decrements it for the next
    /// hop. A missing or malformed value is passed on as it is.</summary>
    private static bool AtLastHop(ProxyContext ctx)
    {
        var headers = ctx.Http.Request.Headers;
        if (!headers.TryGetValue(MaxForwards, out var value) || value.Count != 1
            || !int.TryParse(value[0], NumberStyles.None, CultureInfo.InvariantCulture, out var hops))
            return false;
        if (hops == 0) return true;
        headers[MaxForwards] = (hops - 1).ToString(CultureInfo.InvariantCulture);
        return false;
    }

    /// <summary>RFC 9110 §9.3.8: 200 with the request as received, as <c>message/http</c>.</summary>
    private static Task EchoAsync(HttpContext http)
    {
        var req = http.Request;
        var target = http.Features.Get<IHttpRequestFeature>()?.RawTarget ?? req.Path + req.QueryString;
        var sb = new StringBuilder().Append(req.Method).Append(' ').Append(target).Append(' ').Append(req.Protocol).Append("\r\n");
        foreach (var (name, values) in req.Headers)
        {
            if (Sensitive.Contains(name, StringComparer.OrdinalIgnoreCase)) continue;
            foreach (var v in values) sb.Append(name).Append(": ").Append(v).Append("\r\n");
        }
        var body = Encoding.Latin1.GetBytes(sb.Append("\r\n").ToString());
        http.Response.StatusCode = StatusCodes.Status200OK;
        http.Response.ContentType = "message/http";
        http.Response.ContentLength = body.Length;
        http.Response.Headers.CacheControl = "no-store";
        return http.Response.Body.WriteAsync(body).AsTask();
    }

    /// <summary>An OPTIONS request that may go no further: Prox answers for the route with what it forwards.</summary>
    private static Task AllowAsync(HttpContext http)
    {
        http.Response.StatusCode = StatusCodes.Status200OK;
        http.Response.Headers.Allow = HygieneStage.Allow;
        http.Response.ContentLength = 0;
        return Task.CompletedTask;
    }
}
