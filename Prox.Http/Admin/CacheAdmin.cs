using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Prox.Http.Cache;
using Prox.Http.Errors;
using Prox.Http.Runtime;

namespace Prox.Http.Admin;

/// <summary>The body of <c>POST /admin/cache/invalidate</c>: one selector, optionally limited to one route.</summary>
/// <param name="Key">Exact path and query (e.g. <c>/api/items?page=2</c>): every host and variant of it.</param>
/// <param name="Prefix">Path prefix on whole segments (<c>/api</c> matches <c>/api</c> and <c>/api/x</c>, not <c>/apix</c>).</param>
public sealed record CacheInvalidation(string? Route, string? Key, string? Prefix, bool? All);

/// <summary>The response cache's admin endpoint (<c>POST /admin/cache/invalidate</c>) and its part of <c>/status</c>.</summary>
internal static class CacheAdmin
{
    public static void Map(IEndpointRouteBuilder admin, ResponseCache cache) =>
        admin.MapPost("/cache/invalidate", ctx => InvalidateAsync(ctx, cache));

    private static async Task InvalidateAsync(HttpContext ctx, ResponseCache cache)
    {
        CacheInvalidation? body;
        try
        {
            body = await JsonSerializer.DeserializeAsync<CacheInvalidation>(ctx.Request.Body, AdminEndpoints.Json, ctx.RequestAborted);
        }
        catch (JsonException e)
        {
            await Problems.WriteAsync(ctx, StatusCodes.Status400BadRequest, "Bad request body",
                $"Expected JSON such as {{\"prefix\": \"/api\"}}: {e.Message}");
            return;
        }
        var selectors = body is null ? 0 : (body.Key is null ? 0 : 1) + (body.Prefix is null ? 0 : 1) + (body.All == true ? 1 : 0);
        if (body is null || selectors != 1 || body.Prefix is { } p && !p.StartsWith('/') || body.Key is { } k && !k.StartsWith('/'))
        {
            await Problems.WriteAsync(ctx, StatusCodes.Status400BadRequest, "Bad invalidation",
                "Give exactly one of \"key\" (a path with its query, starting with /), \"prefix\" (a path starting with /) or \"all\": true, optionally with \"route\".");
            return;
        }

        var route = body.Route;
        var prefix = body.Prefix is { } pre ? (pre.TrimEnd('/') is { Length: > 0 } t ? t : "/") : null;
        var removed = cache.RemoveWhere(e =>
            (route is null || e.Route == route)
            && (body.All == true
                || (body.Key is { } key && e.PathAndQuery == key)
                || (prefix is not null && UnderPrefix(e.PathAndQuery, prefix))));
        await AdminEndpoints.WriteJsonAsync(ctx, new Invalidated(removed, cache.Count, cache.Bytes));
    }

    private static bool UnderPrefix(string pathAndQuery, string prefix)
    {
        if (prefix == "/") return true;
        if (!pathAndQuery.StartsWith(prefix, StringComparison.Ordinal)) return false;
        return pathAndQuery.Length == prefix.Length || pathAndQuery[prefix.Length] is '/' or '?';
    }

    /// <summary>Null (left out of the JSON) for a route without a cache.</summary>
    public static RouteCacheStatus? RouteStatus(ProxRuntime rt, ResponseCache cache, string route)
    {
        var cfg = rt.Config.Routes.FirstOrDefault(r => r.Id == route)?.Cache;
        if (cfg is not { Enabled: true } && !cache.Stats.ContainsKey(route)) return null;
        var s = cache.StatsFor(route);
        return new RouteCacheStatus(s.Hits, s.Misses, s.Stale, s.Bypass, s.Entries, s.Bytes);
    }

    public static CacheStatus Status(ResponseCache cache) => new(cache.MaxBytes, cache.Bytes, cache.Count, cache.Evictions);

    /// <summary>One route's counters on <c>/status</c>.</summary>
    public sealed record RouteCacheStatus(long Hits, long Misses, long Stale, long Bypass, long Entries, long Bytes);

    /// <summary>The whole store on <c>/status</c>.</summary>
    public sealed record CacheStatus(long MaxBytes, long Bytes, int Entries, long Evictions);

    /// <summary>The answer to an invalidation: how many entries went, and what is left.</summary>
    private sealed record Invalidated(int Removed, int Entries, long Bytes);
}
