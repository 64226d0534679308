using System.Globalization;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;
using Prox.Actors.Caching;
using Prox.Actors.Config;
using Prox.Http.Forwarding;
using Prox.Http.Pipeline;

namespace Prox.Http.Cache;

/// <summary>
/// Responses as the cache keeps them (RFC 9111): the key and <c>Vary</c> match of a request, the entry to store for
/// a response (or none), the headers a 304 freshens, and the writing of an entry back to a client.
/// </summary>
internal static class StoredResponses
{
    /// <summary>Response headers never stored: hop-by-hop ones, per-request ones, and the ones a hit recomputes.</summary>
    private static readonly HashSet<string> NotStoredHeaders = new(StringComparer.OrdinalIgnoreCase)
    {
        "Connection", "Keep-Alive", "Proxy-Connection", "Proxy-Authenticate", "Proxy-Authorization", "TE", "Trailer",
        "Transfer-Encoding", "Upgrade", "Set-Cookie", "Age", "Content-Length", ProxTransformer.XCache, RequestIds.Header,
    };

    /// <summary>RFC 9213 §3: the targeted field this cache obeys ahead of <c>Cache-Control</c>. It is stored (a 304 may
    /// lack it, and the entry's freshness is recomputed then) but never sent to a client: it is for this cache alone.</summary>
    public const string CdnCacheControl = "CDN-Cache-Control";

    /// <summary>The headers RFC 9110 §15.4.5 keeps on a 304.</summary>
    private static readonly HashSet<string> NotModifiedHeaders = new(StringComparer.OrdinalIgnoreCase)
    {
        "Cache-Control", "Content-Location", "Date", "ETag", "Expires", "Vary", "Last-Modified",
    };

    /// <summary>The primary key plus the route's <c>vary-by</c> values: host, path and query, one field per line.</summary>
    public static string Key(string route, CacheConfig cfg, HttpRequest req)
    {
        var baseKey = BaseKey(route, req.Host.Value, string.Concat(req.Path.Value, req.QueryString.Value));
        if (cfg.VaryBy.IsDefaultOrEmpty) return baseKey;
        var sb = new System.Text.StringBuilder(baseKey);
        foreach (var name in cfg.VaryBy) sb.Append('\n').Append(req.Headers[name].ToString());
        return sb.ToString();
    }

    /// <summary>The key without the <c>vary-by</c> values: one per target URI of a route.</summary>
    public static string BaseKey(string route, string? host, string pathAndQuery) =>
        string.Concat(route, "\n", host?.ToLowerInvariant(), "\n", pathAndQuery);

    public static bool VaryMatches(CacheEntry entry, IHeaderDictionary headers)
    {
        for (var i = 0; i < entry.VaryNames.Length; i++)
            if (headers[entry.VaryNames[i]].ToString() != entry.VaryValues[i]) return false;
        return true;
    }

    /// <summary>RFC 9111 §4.3.4 and §3.2: the stored header fields, updated (added or replaced) by those of a 304, but
    /// for the ones never stored (<c>Content-Length</c> among them: it describes the body the 304 does not have).</summary>
    public static HeaderDictionary Freshened(CacheEntry old, HeaderDictionary notModified)
    {
        var merged = new HeaderDictionary(old.Headers.ToDictionary(h => h.Key, h => h.Value, StringComparer.OrdinalIgnoreCase));
        foreach (var (name, value) in notModified)
            if (!NotStoredHeaders.Contains(name)) merged[name] = value;
        return merged;
    }

    /// <summary>The entry to store for this response, or null when RFC 9111 (or the size of the entry) says not to.</summary>
    /// <param name="now">When the entry is stored.</param>
    /// <param name="cdnCacheControl">The response's <c>CDN-Cache-Control</c> when it was taken off
    /// <paramref name="h"/> before the response went to the client.</param>
    public static CacheEntry? Build(string route, CacheConfig cfg, string key, HttpRequest req, int status, IHeaderDictionary h,
        byte[] body, DateTimeOffset requestTime, DateTimeOffset now, StringValues cdnCacheControl = default)
    {
        if (h.TryGetValue(CdnCacheControl, out var inHeaders)) cdnCacheControl = inHeaders;
        // RFC 9213 §2.2: a present targeted field replaces Cache-Control and Expires for this cache altogether
        var targeted = !StringValues.IsNullOrEmpty(cdnCacheControl);
        var cc = CacheDirectives.Parse(targeted ? cdnCacheControl : h.CacheControl);
        var hasExpires = !targeted && h.ContainsKey("Expires");
        var hasValidator = !StringValues.IsNullOrEmpty(h.ETag) || !StringValues.IsNullOrEmpty(h.LastModified);
        var why = CachePolicy.Storable(status, cc, hasExpires, req.Headers.ContainsKey("Authorization"),
            h.ContainsKey("Set-Cookie"), h.Vary, hasValidator);
        if (why != NotStorable.None) return null;

        DateTimeOffset? date = CachePolicy.TryParseDate(h.Date.ToString(), out var d) ? d : null;
        // RFC 9111 §5.3: an Expires that does not parse means "already expired"
        DateTimeOffset? expires = !hasExpires ? null : CachePolicy.TryParseDate(h.Expires.ToString(), out var e) ? e : DateTimeOffset.MinValue;
        var lifetime = CachePolicy.FreshnessLifetime(cc, expires, date, requestTime, cfg.Ttl);
        var swr = cc.StaleWhileRevalidate ?? cfg.StaleWhileRevalidate;
        var sie = cc.StaleIfError ?? cfg.StaleIfError;
        // kept even when already expired if it has a validator: the next request revalidates instead of refetching
        if (lifetime <= TimeSpan.Zero && !hasValidator && (cc.MustRevalidate || (swr <= TimeSpan.Zero && sie <= TimeSpan.Zero))) return null;

        var headers = new List<KeyValuePair<string, StringValues>>(h.Count);
        foreach (var kv in h)
            if (!NotStoredHeaders.Contains(kv.Key)) headers.Add(kv);
        if (targeted && StringValues.IsNullOrEmpty(inHeaders)) headers.Add(new(CdnCacheControl, cdnCacheControl));
        var varyNames = new List<string>();
        foreach (var v in h.Vary)
            if (v is not null)
                foreach (var name in v.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
                    if (!varyNames.Contains(name, StringComparer.OrdinalIgnoreCase)) varyNames.Add(name);
        var varyValues = varyNames.Select(n => req.Headers[n].ToString()).ToArray();
        var path = string.Concat(req.Path.Value, req.QueryString.Value);
        var headerArray = headers.ToArray();

        return new CacheEntry
        {
            Key = key,
            Route = route,
            PathAndQuery = path,
            Status = status,
            Headers = headerArray,
            Body = body,
            StoredAt = now,
            InitialAge = CachePolicy.InitialAge(h.Age),
            Lifetime = lifetime,
            StaleWhileRevalidate = swr,
            StaleIfError = sie,
            // no-cache: never served without a successful revalidation; s-maxage implies proxy-revalidate (RFC 9111 §5.2.2.10)
            MustRevalidate = cc.MustRevalidate || cc.NoCache || cc.SMaxAge is not null,
            ETag = StringValues.IsNullOrEmpty(h.ETag) ? null : h.ETag.ToString(),
            LastModified = CachePolicy.TryParseDate(h.LastModified.ToString(), out var lm) ? lm : null,
            VaryNames = [.. varyNames],
            VaryValues = varyValues,
            Size = CacheEntry.SizeOf(key, path, headerArray, body.Length, [.. varyNames, .. varyValues]),
        };
    }

    /// <summary>Writes a stored response with its <c>Age</c>; a matching conditional request gets 304 without a body.</summary>
    public static async Task WriteAsync(HttpContext ctx, CacheEntry entry, DateTimeOffset now, string label, string requestId)
    {
        var req = ctx.Request;
        var resp = ctx.Response;
        var notModified = entry.Status is >= 200 and < 300
            && CachePolicy.NotModified(req.Headers.IfNoneMatch, req.Headers.IfModifiedSince, entry.ETag, entry.LastModified);
        resp.StatusCode = notModified ? StatusCodes.Status304NotModified : entry.Status;
        var headers = resp.Headers;
        foreach (var (name, value) in entry.Headers)
            if ((!notModified || NotModifiedHeaders.Contains(name)) && !name.Equals(CdnCacheControl, StringComparison.OrdinalIgnoreCase))
                headers[name] = value;
        headers.Age = ((long)entry.Age(now).TotalSeconds).ToString(CultureInfo.InvariantCulture);
        headers[ProxTransformer.XCache] = label;
        headers[RequestIds.Header] = requestId;
        if (notModified || entry.Status == StatusCodes.Status204NoContent) return;
        resp.ContentLength = entry.Body.Length;
        if (HttpMethods.IsHead(req.Method) || entry.Body.Length == 0) return;
        await resp.Body.WriteAsync(entry.Body, ctx.RequestAborted);
    }
}
