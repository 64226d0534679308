using System.Collections.Immutable;
using System.Globalization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Primitives;
using Prox.Actors.Caching;
using Prox.Actors.Config;
using Prox.Actors.Routing;
using Prox.Http.Cache;

namespace Prox.Http.Forwarding;

/// <summary>The request path of routes with a response cache: lookup before forwarding, store after it.</summary>
public sealed partial class ProxyHandler
{
    private static readonly ImmutableArray<int> StaleIfErrorStatuses = [500, 502, 503, 504];

    /// <summary>Response headers never stored: hop-by-hop ones, per-request ones, and the ones a hit recomputes.</summary>
    private static readonly HashSet<string> NotStoredHeaders = new(StringComparer.OrdinalIgnoreCase)
    {
        "Connection", "Keep-Alive", "Proxy-Connection", "Proxy-Authenticate", "Proxy-Authorization", "TE", "Trailer",
        "Transfer-Encoding", "Upgrade", "Set-Cookie", "Age", "Content-Length", ProxTransformer.XCache, RequestIds.Header,
    };

    /// <summary>Request headers a background refresh does not copy: it must get a full response for every client.</summary>
    private static readonly HashSet<string> NotRefreshedHeaders = new(StringComparer.OrdinalIgnoreCase)
    {
        "If-None-Match", "If-Modified-Since", "If-Match", "If-Unmodified-Since", "If-Range", "Range", "Connection",
        "Content-Length", "Transfer-Encoding", "Expect",
    };

    /// <summary>The headers RFC 9110 §15.4.5 keeps on a 304.</summary>
    private static readonly HashSet<string> NotModifiedHeaders = new(StringComparer.OrdinalIgnoreCase)
    {
        "Cache-Control", "Content-Location", "Date", "ETag", "Expires", "Vary", "Last-Modified",
    };

    private static ImmutableArray<int> HoldBackWithStale(ImmutableArray<int> retryStatuses, bool moreLeft) =>
        moreLeft && !retryStatuses.IsDefaultOrEmpty ? [.. retryStatuses.Union(StaleIfErrorStatuses)] : StaleIfErrorStatuses;

    private async Task CachedAsync(HttpContext ctx, RouteSlot slot, RouteSnapshot snap, CacheConfig cfg, string prefix, string requestId, bool trusted)
    {
        var req = ctx.Request;
        var cache = _rt.Cache;
        var stats = cache.StatsFor(snap.Id);

        // honoured from trusted peers only: anyone else could use it to pound the backends past the cache.
        // A bypassing GET still stores its response, so it also refreshes the entry (as nginx's proxy_cache_bypass).
        var bypass = trusted && req.Headers.ContainsKey(_rt.Config.Cache.BypassHeader);
        // partial content is neither stored nor served from a full entry (yet)
        if (!bypass && req.Headers.ContainsKey("Range"))
        {
            Interlocked.Increment(ref stats.MissCount);
            await ForwardCachedAsync(ctx, snap, prefix, requestId, trusted, "MISS");
            return;
        }

        var key = Key(snap.Id, cfg, req);
        var now = cache.Time.GetUtcNow();
        var entry = bypass ? null : cache.Get(key);
        if (entry is not null && !VaryMatches(entry, req.Headers)) entry = null;
        CacheEntry? expired = null;
        if (entry is not null)
        {
            switch (entry.Classify(now))
            {
                case Freshness.Fresh:
                    Interlocked.Increment(ref stats.HitCount);
                    await WriteEntryAsync(ctx, entry, now, "HIT", requestId);
                    return;
                case Freshness.StaleWhileRevalidate:
                    Interlocked.Increment(ref stats.StaleCount);
                    if (entry.TryBeginRefresh()) StartRefresh(ctx, slot, snap, cfg, prefix, key, entry);
                    await WriteEntryAsync(ctx, entry, now, "STALE", requestId);
                    return;
                case Freshness.Expired:
                    expired = entry;
                    entry = null;
                    break;
            }
        }
        // an expired entry with a validator is asked for conditionally; the client's own conditionals go as they are
        var revalidate = (entry ?? expired) is { } old && (old.ETag is not null || old.LastModified is not null)
            && !req.Headers.ContainsKey("If-None-Match") && !req.Headers.ContainsKey("If-Modified-Since")
                ? new Revalidation(old) : null;

        var label = bypass ? "BYPASS" : "MISS";
        Forwarded result;
        if (HttpMethods.IsHead(req.Method))
        {
            // a HEAD response has no body to store; a later GET fills the entry HEAD can use
            result = await ForwardCachedAsync(ctx, snap, prefix, requestId, trusted, label, entry, revalidate);
            Count(stats, bypass, result);
            if (result == Forwarded.NotModified) await ServeRevalidatedAsync(ctx, snap.Id, cfg, key, revalidate!, requestId);
            return;
        }

        var bodyFeature = ctx.Features.Get<IHttpResponseBodyFeature>()!;
        var tee = new TeeStream(bodyFeature.Stream, cfg.MaxEntryBytes);
        ctx.Features.Set<IHttpResponseBodyFeature>(new StreamResponseBodyFeature(tee, bodyFeature));
        try
        {
            // a plain miss on a route that also coalesces: identical misses in flight share one backend request
            // (nginx's proxy_cache_lock); whoever gets the response stores it
            if (!bypass && expired is null && revalidate is null
                && snap.Config.Dedup is { Enabled: true } dedup && Dedup.Coalescing.Applies(dedup, req))
            {
                ctx.Response.OnStarting(static state =>
                {
                    var headers = ((HttpContext)state).Response.Headers;
                    if (!headers.ContainsKey(ProxTransformer.XCache)) headers[ProxTransformer.XCache] = "MISS";
                    return Task.CompletedTask;
                }, ctx);
                await Dedup.Coalescing.InvokeAsync(this, ctx, snap, dedup, prefix, requestId, trusted);
                // a problem Prox wrote is no-store, so only a backend's response can be stored below
                result = Forwarded.Backend;
            }
            else
            {
                result = await ForwardCachedAsync(ctx, snap, prefix, requestId, trusted, label, entry, revalidate);
            }
        }
        finally
        {
            ctx.Features.Set(bodyFeature);
        }
        Count(stats, bypass, result);
        if (result == Forwarded.NotModified)
            await ServeRevalidatedAsync(ctx, snap.Id, cfg, key, revalidate!, requestId);
        else if (result == Forwarded.Backend && tee.Captured is { } body && !ctx.RequestAborted.IsCancellationRequested)
            TryStore(snap.Id, cfg, key, req, ctx.Response, body, now);
    }

    /// <summary>One counter per request: bypass, stale (served by stale-if-error) or miss.</summary>
    /// <summary>A revalidated entry (304 from the backend) counts as a miss: the backend was asked.</summary>
    private static void Count(RouteCacheStats stats, bool bypass, Forwarded result) =>
        Interlocked.Increment(ref bypass ? ref stats.BypassCount : ref result == Forwarded.Stale ? ref stats.StaleCount : ref stats.MissCount);

    /// <summary>The primary key plus the route's <c>vary-by</c> values: host, path and query, one field per line.</summary>
    private static string Key(string route, CacheConfig cfg, HttpRequest req)
    {
        var baseKey = string.Concat(route, "\n", req.Host.Value?.ToLowerInvariant(), "\n", req.Path.Value, req.QueryString.Value);
        if (cfg.VaryBy.IsDefaultOrEmpty) return baseKey;
        var sb = new System.Text.StringBuilder(baseKey);
        foreach (var name in cfg.VaryBy) sb.Append('\n').Append(req.Headers[name].ToString());
        return sb.ToString();
    }

    private static bool VaryMatches(CacheEntry entry, IHeaderDictionary headers)
    {
        for (var i = 0; i < entry.VaryNames.Length; i++)
            if (headers[entry.VaryNames[i]].ToString() != entry.VaryValues[i]) return false;
        return true;
    }

    private void TryStore(string route, CacheConfig cfg, string key, HttpRequest req, HttpResponse resp, byte[] body, DateTimeOffset requestTime)
    {
        if (BuildEntry(route, cfg, key, req, resp.StatusCode, resp.Headers, body, requestTime) is { } entry)
            _rt.Cache.Set(entry);
    }

    /// <summary>
    /// RFC 9111 §4.3.3-4: a 304 freshens the entry: its header fields replace the stored ones and the freshness is
    /// computed anew. The client gets the entry (its own request was not conditional, or it would have gone as is).
    /// </summary>
    private async Task ServeRevalidatedAsync(HttpContext ctx, string route, CacheConfig cfg, string key, Revalidation r, string requestId)
    {
        var now = _rt.Cache.Time.GetUtcNow();
        var merged = new HeaderDictionary(r.Entry.Headers.ToDictionary(h => h.Key, h => h.Value, StringComparer.OrdinalIgnoreCase));
        foreach (var (name, value) in r.NotModifiedHeaders!)
            if (!NotStoredHeaders.Contains(name) && !name.StartsWith("Content-", StringComparison.OrdinalIgnoreCase))
                merged[name] = value;
        var entry = BuildEntry(route, cfg, key, ctx.Request, r.Entry.Status, merged, r.Entry.Body, now);
        if (entry is not null) _rt.Cache.Set(entry);
        else _rt.Cache.Remove(r.Entry); // the 304 made it unstorable (no-store, …): serve it this once
        ctx.Response.Clear();
        await WriteEntryAsync(ctx, entry ?? r.Entry, now, "REVALIDATED", requestId);
    }

    /// <summary>The entry to store for this response, or null when RFC 9111 (or the size of the entry) says not to.</summary>
    private CacheEntry? BuildEntry(string route, CacheConfig cfg, string key, HttpRequest req, int status, IHeaderDictionary h,
        byte[] body, DateTimeOffset requestTime)
    {
        var cc = CacheDirectives.Parse(h.CacheControl);
        var hasExpires = h.ContainsKey("Expires");
        var hasValidator = !StringValues.IsNullOrEmpty(h.ETag) || !StringValues.IsNullOrEmpty(h.LastModified);
        var why = CachePolicy.Storable(status, cc, hasExpires, req.Headers.ContainsKey("Authorization"),
            h.ContainsKey("Set-Cookie"), h.Vary, hasValidator);
        if (why != NotStorable.None) return null;

        var now = _rt.Cache.Time.GetUtcNow();
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
            MustRevalidate = cc.MustRevalidate || cc.NoCache, // no-cache: never served without a successful revalidation
            ETag = StringValues.IsNullOrEmpty(h.ETag) ? null : h.ETag.ToString(),
            LastModified = CachePolicy.TryParseDate(h.LastModified.ToString(), out var lm) ? lm : null,
            VaryNames = [.. varyNames],
            VaryValues = varyValues,
            Size = CacheEntry.SizeOf(key, path, headerArray, body.Length, [.. varyNames, .. varyValues]),
        };
    }

    /// <summary>What became of a forwarded request.</summary>
    private enum Forwarded
    {
        /// <summary>The backend's response went (or is going) to the client.</summary>
        Backend,
        /// <summary>Prox answered with a problem (or the client left).</summary>
        Failed,
        /// <summary>Every backend failed and the stale entry was served instead (stale-if-error).</summary>
        Stale,
        /// <summary>The backend answered 304 to a revalidation: nothing was sent, the entry is still good.</summary>
        NotModified,
    }

    /// <summary>Forwards for the cache: a failure is answered with the stale entry when there is one (stale-if-error),
    /// else as usual; a revalidation's 304 is reported, not sent.</summary>
    /// <param name="stale">An expired entry still within stale-if-error: served if every attempt fails.</param>
    private async Task<Forwarded> ForwardCachedAsync(HttpContext ctx, RouteSnapshot snap, string prefix, string requestId, bool trusted,
        string? label, CacheEntry? stale = null, Revalidation? revalidate = null)
    {
        var result = await ForwardAsync(ctx, snap, prefix, requestId, trusted, label, stale is not null, revalidate);
        if (result.Failure == Failure.None)
            return revalidate?.NotModifiedHeaders is not null ? Forwarded.NotModified : Forwarded.Backend;
        if (result.Failure == Failure.Client) return Forwarded.Failed;
        if (stale is not null && await TryServeStaleAsync(ctx, stale, requestId)) return Forwarded.Stale;
        await WriteFailureAsync(ctx, snap, result, requestId);
        return Forwarded.Failed;
    }

    private async Task<bool> TryServeStaleAsync(HttpContext ctx, CacheEntry stale, string requestId)
    {
        if (ctx.Response.HasStarted) return false;
        ctx.Response.Clear();
        await WriteEntryAsync(ctx, stale, _rt.Cache.Time.GetUtcNow(), "STALE", requestId);
        return true;
    }

    /// <summary>Writes a stored response with its <c>Age</c>; a matching conditional request gets 304 without a body.</summary>
    private static async Task WriteEntryAsync(HttpContext ctx, CacheEntry entry, DateTimeOffset now, string label, string requestId)
    {
        var req = ctx.Request;
        var resp = ctx.Response;
        var notModified = entry.Status is >= 200 and < 300
            && CachePolicy.NotModified(req.Headers.IfNoneMatch, req.Headers.IfModifiedSince, entry.ETag, entry.LastModified);
        resp.StatusCode = notModified ? StatusCodes.Status304NotModified : entry.Status;
        var headers = resp.Headers;
        foreach (var (name, value) in entry.Headers)
            if (!notModified || NotModifiedHeaders.Contains(name)) headers[name] = value;
        headers.Age = ((long)entry.Age(now).TotalSeconds).ToString(CultureInfo.InvariantCulture);
        headers[ProxTransformer.XCache] = label;
        headers[RequestIds.Header] = requestId;
        if (notModified || entry.Status == StatusCodes.Status204NoContent) return;
        resp.ContentLength = entry.Body.Length;
        if (HttpMethods.IsHead(req.Method) || entry.Body.Length == 0) return;
        await resp.Body.WriteAsync(entry.Body, ctx.RequestAborted);
    }

    /// <summary>
    /// Starts the one background refresh of a stale entry (stale-while-revalidate). It copies what it needs from the
    /// client's request now, as that request ends before the refresh does. Not yet routed through request coalescing.
    /// </summary>
    private void StartRefresh(HttpContext ctx, RouteSlot slot, RouteSnapshot snap, CacheConfig cfg, string prefix, string key, CacheEntry stale)
    {
        var req = ctx.Request;
        var bg = new DefaultHttpContext();
        bg.Features.Set<IHttpRequestBodyDetectionFeature>(NoRequestBody.Instance);
        bg.Request.Method = HttpMethods.Get;
        bg.Request.Scheme = req.Scheme;
        bg.Request.Host = req.Host;
        bg.Request.PathBase = req.PathBase;
        bg.Request.Path = req.Path;
        bg.Request.QueryString = req.QueryString;
        foreach (var (name, value) in req.Headers)
            if (!NotRefreshedHeaders.Contains(name)) bg.Request.Headers[name] = value;
        bg.Connection.RemoteIpAddress = ctx.Connection.RemoteIpAddress;
        var trusted = _rt.TrustedProxies.IsTrusted(bg.Connection.RemoteIpAddress);
        var requestId = RequestIds.Resolve(bg.Request, false);
        // RefreshAsync catches and logs everything: nothing is left unobserved
        _ = RefreshAsync(bg, slot, snap, cfg, prefix, key, stale, requestId, trusted);
    }

    private async Task RefreshAsync(HttpContext bg, RouteSlot slot, RouteSnapshot snap, CacheConfig cfg, string prefix, string key,
        CacheEntry stale, string requestId, bool trusted)
    {
        try
        {
            await Task.Yield(); // the client's response goes first
            snap = slot.Current ?? snap; // the backends of now, should a reload or health change have happened since
            var tee = new TeeStream(Stream.Null, cfg.MaxEntryBytes);
            bg.Response.Body = tee;
            var requestTime = _rt.Cache.Time.GetUtcNow();
            var result = await ForwardCachedAsync(bg, snap, prefix, requestId, trusted, null);
            if (result == Forwarded.Backend && tee.Captured is { } body)
                TryStore(snap.Id, cfg, key, bg.Request, bg.Response, body, requestTime);
        }
        catch (Exception e)
        {
            _log.LogWarning(e, "Background cache refresh of {Path} in route {RouteId} failed", bg.Request.Path.Value, snap.Id);
        }
        finally
        {
            // a refresh that stored nothing lets the next stale hit try again
            stale.EndRefresh();
        }
    }

    private sealed class NoRequestBody : IHttpRequestBodyDetectionFeature
    {
        public static readonly NoRequestBody Instance = new();
        public bool CanHaveBody => false;
    }
}
