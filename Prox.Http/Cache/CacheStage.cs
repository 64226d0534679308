using System.Collections.Immutable;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Primitives;
using Prox.Actors.Caching;
using Prox.Actors.Config;
using Prox.Http.Dedup;
using Prox.Http.Forwarding;
using Prox.Http.Pipeline;
using Prox.Http.Runtime;

namespace Prox.Http.Cache;

/// <summary>
/// The response cache (RFC 9111) of routes with <c>cache</c> on, for GET and HEAD: a fresh entry is answered here;
/// a miss, a revalidation and the background refresh of a stale entry go through the <see cref="Forwarder"/>
/// (a plain miss on a dedup route through <see cref="Coalescing"/>), and what comes back is stored. A successful
/// unsafe request invalidates what it changed (<see cref="UnsafeInvalidation"/>). Routes without a cache pass on at
/// the cost of one null check.
/// </summary>
public sealed class CacheStage(ProxRuntime rt, ResponseCache responses, Forwarder forwarder, Coalescing coalescing, ILogger<CacheStage> log) : IProxyStage
{
    /// <summary>RFC 5861 §4: the statuses a stale entry can stand in for (stale-if-error).</summary>
    private static readonly ImmutableArray<int> StaleIfErrorStatuses = [500, 502, 503, 504];

    /// <summary>Request headers a background refresh does not copy: it must get a full response for every client.</summary>
    private static readonly HashSet<string> NotRefreshedHeaders = new(StringComparer.OrdinalIgnoreCase)
    {
        "If-None-Match", "If-Modified-Since", "If-Match", "If-Unmodified-Since", "If-Range", "Range", "Connection",
        "Content-Length", "Transfer-Encoding", "Expect",
    };

    public ValueTask InvokeAsync(ProxyContext ctx, ProxyStageDelegate next)
    {
        // routes without a cache pay one null check here and nothing else
        if (ctx.Snapshot.Config.Cache is not { Enabled: true } cache) return next(ctx);
        var method = ctx.Http.Request.Method;
        if (HttpMethods.IsGet(method) || HttpMethods.IsHead(method)) return new ValueTask(CachedAsync(ctx, cache));
        if (UnsafeInvalidation.IsSafe(method)) return next(ctx);
        return new ValueTask(ForwardUnsafeAsync(ctx, cache, next));
    }

    /// <summary>An unsafe request goes on as any other; once its response is out, what it changed is invalidated.</summary>
    private async Task ForwardUnsafeAsync(ProxyContext pc, CacheConfig cfg, ProxyStageDelegate next)
    {
        await next(pc);
        UnsafeInvalidation.Apply(responses, pc.Snapshot.Id, cfg, pc.Http.Request, pc.Http.Response);
    }

    private async Task CachedAsync(ProxyContext pc, CacheConfig cfg)
    {
        var ctx = pc.Http;
        var snap = pc.Snapshot;
        var requestId = pc.RequestId;
        var req = ctx.Request;
        var cache = responses;
        var stats = cache.StatsFor(snap.Id);

        // honoured from trusted peers only: anyone else could use it to pound the backends past the cache.
        // A bypassing GET still stores its response, so it also refreshes the entry (as nginx's proxy_cache_bypass).
        var bypass = pc.Trusted && req.Headers.ContainsKey(rt.Config.Cache.BypassHeader);
        // partial content is neither stored nor served from a full entry (yet)
        if (!bypass && req.Headers.ContainsKey("Range"))
        {
            Interlocked.Increment(ref stats.MissCount);
            await ForwardCachedAsync(pc, "MISS");
            return;
        }

        var key = StoredResponses.Key(snap.Id, cfg, req);
        var now = cache.Time.GetUtcNow();
        var entry = bypass ? null : cache.Get(key, now);
        if (entry is not null && !StoredResponses.VaryMatches(entry, req.Headers)) entry = null;
        CacheEntry? expired = null;
        if (entry is not null)
        {
            switch (entry.Classify(now))
            {
                case Freshness.Fresh:
                    Interlocked.Increment(ref stats.HitCount);
                    await StoredResponses.WriteAsync(ctx, entry, now, "HIT", requestId);
                    return;
                case Freshness.StaleWhileRevalidate:
                    Interlocked.Increment(ref stats.StaleCount);
                    if (entry.TryBeginRefresh()) StartRefresh(pc, cfg, key, entry);
                    await StoredResponses.WriteAsync(ctx, entry, now, "STALE", requestId);
                    return;
                case Freshness.Expired:
                    expired = entry;
                    entry = null;
                    break;
            }
        }
        // RFC 9213: CDN-Cache-Control is this cache's; the client gets the response without it
        var cdn = new TargetedField(ctx.Response);
        ctx.Response.OnStarting(TargetedField.Take, cdn);

        // an expired entry with a validator is asked for conditionally; the client's own conditionals go as they are
        var validated = entry ?? expired;
        var revalidate = validated is { } old && (old.ETag is not null || old.LastModified is not null)
            && !req.Headers.ContainsKey("If-None-Match") && !req.Headers.ContainsKey("If-Modified-Since")
                ? new Revalidation(old.ETag, old.LastModified) : null;

        var label = bypass ? "BYPASS" : "MISS";
        Forwarded result;
        if (HttpMethods.IsHead(req.Method))
        {
            // a HEAD response has no body to store; a later GET fills the entry HEAD can use
            result = await ForwardCachedAsync(pc, label, entry, revalidate);
            Count(stats, bypass, result);
            if (result == Forwarded.NotModified) await ServeRevalidatedAsync(ctx, snap.Id, cfg, key, validated!, revalidate!, requestId);
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
                && snap.Config.Dedup is { Enabled: true } dedup && Coalescing.Applies(dedup, req))
            {
                ctx.Response.OnStarting(static state =>
                {
                    var headers = ((HttpContext)state).Response.Headers;
                    if (!headers.ContainsKey(ProxTransformer.XCache)) headers[ProxTransformer.XCache] = "MISS";
                    return Task.CompletedTask;
                }, ctx);
                await coalescing.InvokeAsync(pc, dedup);
                // a problem Prox wrote is no-store, so only a backend's response can be stored below
                result = Forwarded.Backend;
            }
            else
            {
                result = await ForwardCachedAsync(pc, label, entry, revalidate);
            }
        }
        finally
        {
            ctx.Features.Set(bodyFeature);
        }
        Count(stats, bypass, result);
        if (result == Forwarded.NotModified)
            await ServeRevalidatedAsync(ctx, snap.Id, cfg, key, validated!, revalidate!, requestId);
        else if (result == Forwarded.Backend && tee.Captured is { } body && !ctx.RequestAborted.IsCancellationRequested)
            TryStore(snap.Id, cfg, key, req, ctx.Response, body, now, cdn.Value);
    }

    /// <summary>Takes <c>CDN-Cache-Control</c> off a response as it starts, and keeps it for the store.</summary>
    private sealed class TargetedField(HttpResponse response)
    {
        public StringValues Value;

        public static Task Take(object state)
        {
            var f = (TargetedField)state;
            var headers = f.Response.Headers;
            if (headers.TryGetValue(StoredResponses.CdnCacheControl, out var v))
            {
                f.Value = v;
                headers.Remove(StoredResponses.CdnCacheControl);
            }
            return Task.CompletedTask;
        }

        private HttpResponse Response { get; } = response;
    }

    /// <summary>One counter per request: bypass, stale (served by stale-if-error) or miss. A revalidated entry (304
    /// from the backend) counts as a miss: the backend was asked.</summary>
    private static void Count(RouteCacheStats stats, bool bypass, Forwarded result) =>
        Interlocked.Increment(ref bypass ? ref stats.BypassCount : ref result == Forwarded.Stale ? ref stats.StaleCount : ref stats.MissCount);

    private void TryStore(string route, CacheConfig cfg, string key, HttpRequest req, HttpResponse resp, byte[] body, DateTimeOffset requestTime,
        StringValues cdnCacheControl = default)
    {
        if (StoredResponses.Build(route, cfg, key, req, resp.StatusCode, resp.Headers, body, requestTime, responses.Time.GetUtcNow(),
                cdnCacheControl) is { } entry)
            responses.Set(entry);
    }

    /// <summary>
    /// RFC 9111 §4.3.3-4: a 304 freshens the entry: its header fields replace the stored ones and the freshness is
    /// computed anew. The client gets the entry (its own request was not conditional, or it would have gone as is).
    /// </summary>
    private async Task ServeRevalidatedAsync(HttpContext ctx, string route, CacheConfig cfg, string key, CacheEntry old, Revalidation r,
        string requestId)
    {
        var now = responses.Time.GetUtcNow();
        var merged = StoredResponses.Freshened(old, r.NotModifiedHeaders!);
        var entry = StoredResponses.Build(route, cfg, key, ctx.Request, old.Status, merged, old.Body, requestTime: now, now);
        if (entry is not null) responses.Set(entry);
        else responses.Remove(old); // the 304 made it unstorable (no-store, …): serve it this once
        ctx.Response.Clear();
        await StoredResponses.WriteAsync(ctx, entry ?? old, now, "REVALIDATED", requestId);
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
    private async Task<Forwarded> ForwardCachedAsync(ProxyContext pc, string? label, CacheEntry? stale = null, Revalidation? revalidate = null)
    {
        var failure = await forwarder.ForwardAsync(pc, label, stale is not null ? StaleIfErrorStatuses : default, revalidate);
        if (failure.IsNone)
            return revalidate?.NotModifiedHeaders is not null ? Forwarded.NotModified : Forwarded.Backend;
        if (failure.Kind == ProxyFailureKind.Client) return Forwarded.Failed;
        if (stale is not null && await TryServeStaleAsync(pc.Http, stale, pc.RequestId)) return Forwarded.Stale;
        await failure.WriteAsync(pc);
        return Forwarded.Failed;
    }

    private async Task<bool> TryServeStaleAsync(HttpContext ctx, CacheEntry stale, string requestId)
    {
        if (ctx.Response.HasStarted) return false;
        ctx.Response.Clear();
        await StoredResponses.WriteAsync(ctx, stale, responses.Time.GetUtcNow(), "STALE", requestId);
        return true;
    }

    /// <summary>
    /// Starts the one background refresh of a stale entry (stale-while-revalidate). It copies what it needs from the
    /// client's request now, as that request ends before the refresh does. Not yet routed through request coalescing.
    /// </summary>
    private void StartRefresh(ProxyContext pc, CacheConfig cfg, string key, CacheEntry stale)
    {
        var tee = new TeeStream(Stream.Null, cfg.MaxEntryBytes);
        var bg = DetachedContext.Create(pc.Http, tee, out _, method: HttpMethods.Get, skipHeaders: NotRefreshedHeaders);
        // RefreshAsync catches and logs everything: nothing is left unobserved
        _ = RefreshAsync(pc, bg, cfg, key, stale, tee);
    }

    /// <param name="client">The client's request: only its route and trust decision are read.</param>
    private async Task RefreshAsync(ProxyContext client, HttpContext bg, CacheConfig cfg, string key, CacheEntry stale, TeeStream tee)
    {
        var routeId = client.Snapshot.Id; // a slot keeps its route id across snapshots
        try
        {
            await Task.Yield(); // the client's response goes first
            // the backends of now, should a reload or health change have happened since; a refresh is no client's
            // request, so it has its own request id whatever the client sent
            var pc = client.On(bg, RequestIds.New(), client.Slot.Current);
            var requestTime = responses.Time.GetUtcNow();
            var result = await ForwardCachedAsync(pc, null);
            if (result == Forwarded.Backend && tee.Captured is { } body)
                TryStore(routeId, cfg, key, bg.Request, bg.Response, body, requestTime);
        }
        catch (Exception e)
        {
            log.LogWarning(e, "Background cache refresh of {Path} in route {RouteId} failed", bg.Request.Path.Value, routeId);
        }
        finally
        {
            // a refresh that stored nothing lets the next stale hit try again
            stale.EndRefresh();
        }
    }
}
