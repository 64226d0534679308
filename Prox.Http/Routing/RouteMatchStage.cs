using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Prox.Actors.Routing;
using Prox.Http.Errors;
using Prox.Http.Pipeline;
using Prox.Http.Runtime;

namespace Prox.Http.Routing;

/// <summary>
/// Finds the request's route in the published route table and records it in the <see cref="ProxyContext"/>:
/// 503 with <c>Retry-After: 1</c> for every request until Prox is ready (<see cref="ProxSnapshotStore.IsReady"/>:
/// the config is applied and every route has published its snapshot), so nothing in front of Prox ever sees a 404
/// for a route that is still starting; then 404 when none matches (an absolute-form request only matches a route by
/// host), 503 while the matched route (added by a reload) has not published its first snapshot.
/// </summary>
public sealed class RouteMatchStage(ProxRuntime rt) : IProxyStage
{
    public ValueTask InvokeAsync(ProxyContext ctx, ProxyStageDelegate next)
    {
        var http = ctx.Http;
        if (!rt.Store.IsReady)
        {
            return new ValueTask(Problems.WriteAsync(http, StatusCodes.Status503ServiceUnavailable, "Starting",
                "Prox is starting: its routes are not ready yet.", ctx.RequestId, retryAfterSeconds: 1));
        }

        var req = http.Request;
        var found = rt.Store.Table.Match(HostOf(req.Host.Value), req.Path.Value ?? "/");
        if (found is not { } match || (IsAbsoluteForm(http) && !match.ByHost))
        {
            return new ValueTask(Problems.WriteAsync(http, StatusCodes.Status404NotFound, "No route",
                "No route matches this host and path.", ctx.RequestId));
        }

        var snap = match.Slot.Current;
        if (snap is null)
        {
            return new ValueTask(Problems.WriteAsync(http, StatusCodes.Status503ServiceUnavailable, "Starting",
                "The route is starting.", ctx.RequestId, retryAfterSeconds: 1));
        }

        ctx.SetRoute(match.Slot, snap, match.Prefix);
        return next(ctx);
    }

    /// <summary>The host of a Host header value without its port, as <see cref="HostString.Host"/> has it (an IPv6
    /// literal keeps its brackets), without allocating a string.</summary>
    internal static ReadOnlySpan<char> HostOf(string? value)
    {
        if (string.IsNullOrEmpty(value)) return default;
        var span = value.AsSpan();
        if (span[0] == '[')
        {
            var close = span.IndexOf(']');
            return close < 0 ? span : span[..(close + 1)];
        }
        var colon = span.IndexOf(':');
        return colon < 0 ? span : span[..colon];
    }

    private static bool IsAbsoluteForm(HttpContext ctx)
    {
        var raw = ctx.Features.Get<IHttpRequestFeature>()?.RawTarget;
        return raw is not null && raw.Length > 0 && raw[0] != '/' && raw[0] != '*';
    }
}
