using Microsoft.AspNetCore.Http;
using Prox.Actors.Caching;

namespace Prox.Http.Cache;

/// <summary>
/// RFC 9111 §4.4: a non-error response (2xx, 3xx) to an unsafe request (every method but GET, HEAD, OPTIONS and
/// TRACE, unknown ones included) invalidates what the route stored for its target URI and for the URIs its
/// <c>Location</c> and <c>Content-Location</c> name on the same host. The entries go at once; the next GET refetches.
/// </summary>
internal static class UnsafeInvalidation
{
    /// <summary>RFC 9110 §9.2.1: the safe methods. CONNECT never reaches a route.</summary>
    public static bool IsSafe(string method) =>
        HttpMethods.IsGet(method) || HttpMethods.IsHead(method) || HttpMethods.IsOptions(method) || HttpMethods.IsTrace(method);

    /// <summary>Removes the route's entries the response to <paramref name="req"/> makes stale; none for an error.</summary>
    /// <returns>How many entries went.</returns>
    public static int Apply(ResponseCache cache, string route, CacheConfig cfg, HttpRequest req, HttpResponse resp)
    {
        if (resp.StatusCode is < 200 or >= 400) return 0;
        var host = req.Host.Value;
        var removed = Remove(cache, route, cfg, host, string.Concat(req.Path.Value, req.QueryString.Value));
        var headers = resp.Headers;
        if (headers.Location.Count == 0 && headers.ContentLocation.Count == 0) return removed;
        if (!Uri.TryCreate(string.Concat(req.Scheme, "://", host, req.PathBase.Value, req.Path.Value, req.QueryString.Value),
                UriKind.Absolute, out var target)) return removed;
        removed += RemoveReferenced(cache, route, cfg, host, target, headers.Location.ToString());
        removed += RemoveReferenced(cache, route, cfg, host, target, headers.ContentLocation.ToString());
        return removed;
    }

    /// <summary>A reference relative to the target, or absolute on the same host (another origin's entries are not
    /// this response's to invalidate: §4.4 guards against that denial of service).</summary>
    private static int RemoveReferenced(ResponseCache cache, string route, CacheConfig cfg, string? host, Uri target, string reference)
    {
        if (string.IsNullOrEmpty(reference) || !Uri.TryCreate(target, reference, out var uri)) return 0;
        if (!string.Equals(uri.Authority, target.Authority, StringComparison.OrdinalIgnoreCase)) return 0;
        // the path as Kestrel hands it to the key (decoded), the query as sent
        var path = PathString.FromUriComponent(uri).Value;
        return Remove(cache, route, cfg, host, string.Concat(path, uri.Query));
    }

    private static int Remove(ResponseCache cache, string route, CacheConfig cfg, string? host, string pathAndQuery)
    {
        var baseKey = StoredResponses.BaseKey(route, host, pathAndQuery);
        if (cfg.VaryBy.IsDefaultOrEmpty) return cache.Remove(baseKey) ? 1 : 0;
        // vary-by appends one line per header: every variant of the URI starts with its base key and a newline
        var prefix = baseKey + "\n";
        return cache.RemoveWhere(e => e.Key.StartsWith(prefix, StringComparison.Ordinal));
    }
}
