using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Prox.Tests.Infrastructure;
using Xunit;

namespace Prox.Tests.E2E;

/// <summary>The response cache over real sockets: a counting Kestrel backend, TTLs moved with a manual clock.</summary>
public class CacheTests
{
    /// <summary>Answers <c>n=&lt;hits&gt;</c>; <c>?cc=</c> sets Cache-Control, <c>?status=</c> the status; echoes Accept-Language.</summary>
    private static Task<TestBackend> Backend()
    {
        long n = 0;
        return TestBackend.StartAsync("b", async ctx =>
        {
            var hit = Interlocked.Increment(ref n);
            var q = ctx.Request.Query;
            if (q.TryGetValue("status", out var status)) ctx.Response.StatusCode = int.Parse(status!);
            if (q.TryGetValue("cc", out var cc)) ctx.Response.Headers.CacheControl = cc.ToString();
            if (q.ContainsKey("cookie")) ctx.Response.Headers.SetCookie = "session=secret";
            if (q.ContainsKey("vary")) ctx.Response.Headers.Vary = "Accept-Language";
            if (q.ContainsKey("size")) {
                await ctx.Response.WriteAsync(new string('x', int.Parse(q["size"]!)));
                return;
            }
            ctx.Response.Headers.ETag = "\"v1\"";
            ctx.Response.Headers.LastModified = "Thu, 01 Jan 2026 00:00:00 GMT";
            ctx.Response.ContentType = "text/plain";
            await ctx.Response.WriteAsync($"n={hit} lang={ctx.Request.Headers.AcceptLanguage}");
        });
    }

    private static string Route(TestBackend b, string cache = "cache { ttl = 300s }", string extra = "") => $$"""
        routes.web {
          match.path-prefix = "/"
          backends = [ { url = "{{b.Url}}" } ]
          {{cache}}
        }
        {{extra}}
        """;

    private static async Task<(HttpStatusCode Status, string Body, string? XCache, string? Age)> GetAsync(ProxUnderTest prox, string path,
        Action<HttpRequestMessage>? configure = null, HttpMethod? method = null)
    {
        using var req = new HttpRequestMessage(method ?? HttpMethod.Get, path);
        configure?.Invoke(req);
        using var resp = await prox.Client.SendAsync(req);
        var body = await resp.Content.ReadAsStringAsync();
        return (resp.StatusCode, body,
            resp.Headers.TryGetValues("X-Cache", out var x) ? x.Single() : null,
            resp.Headers.TryGetValues("Age", out var a) ? a.Single() : null);
    }

    private static async Task<JsonElement> RouteCacheStatusAsync(ProxUnderTest prox) =>
        (await prox.StatusAsync()).GetProperty("routes").EnumerateArray().Single().GetProperty("cache");

    [Fact]
    public async Task Get_Twice_MissThenHit_BackendSeesOne()
    {
        await using var b = await Backend();
        var clock = new ManualClock();
        await using var prox = await ProxUnderTest.StartAsync(Route(b), clock);

        var first = await GetAsync(prox, "/page");
        clock.Advance(TimeSpan.FromSeconds(7));
        var second = await GetAsync(prox, "/page");

        Assert.Equal(("MISS", "n=1 lang="), (first.XCache, first.Body));
        Assert.Equal(("HIT", "n=1 lang=", "7"), (second.XCache, second.Body, second.Age));
        Assert.Equal(1, b.Hits);
        var stats = await RouteCacheStatusAsync(prox);
        Assert.Equal(1, stats.GetProperty("hits").GetInt64());
        Assert.Equal(1, stats.GetProperty("misses").GetInt64());
        Assert.Equal(1, stats.GetProperty("entries").GetInt64());
        Assert.True(stats.GetProperty("bytes").GetInt64() > 0);
        var global = (await prox.StatusAsync()).GetProperty("cache");
        Assert.Equal(256L << 20, global.GetProperty("maxBytes").GetInt64());
    }

    [Fact]
    public async Task Get_AfterTtl_FetchedAgain()
    {
        await using var b = await Backend();
        var clock = new ManualClock();
        await using var prox = await ProxUnderTest.StartAsync(Route(b, "cache { ttl = 60s }"), clock);

        await GetAsync(prox, "/page");
        clock.Advance(TimeSpan.FromSeconds(59));
        Assert.Equal("HIT", (await GetAsync(prox, "/page")).XCache);
        clock.Advance(TimeSpan.FromSeconds(1));
        var expired = await GetAsync(prox, "/page");

        Assert.Equal(("MISS", "n=2 lang="), (expired.XCache, expired.Body));
        Assert.Equal(2, b.Hits);
    }

    [Theory]
    [InlineData("/p?cc=no-store")]
    [InlineData("/p?cc=private,max-age=60")]
    [InlineData("/p?cc=no-cache")]
    [InlineData("/p?cookie=1")]
    [InlineData("/p?status=500")]
    public async Task Get_NotStorable_NeverCached(string path)
    {
        await using var b = await Backend();
        await using var prox = await ProxUnderTest.StartAsync(Route(b), new ManualClock());

        var first = await GetAsync(prox, path);
        var second = await GetAsync(prox, path);

        Assert.Equal(("MISS", "MISS"), (first.XCache, second.XCache));
        Assert.Equal(2, b.Hits);
    }

    [Fact]
    public async Task Get_BackendMaxAge_OverridesRouteTtl()
    {
        await using var b = await Backend();
        var clock = new ManualClock();
        await using var prox = await ProxUnderTest.StartAsync(Route(b, "cache { ttl = 300s }"), clock);

        await GetAsync(prox, "/p?cc=max-age=10");
        clock.Advance(TimeSpan.FromSeconds(9));
        Assert.Equal("HIT", (await GetAsync(prox, "/p?cc=max-age=10")).XCache);
        clock.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal("MISS", (await GetAsync(prox, "/p?cc=max-age=10")).XCache);
        Assert.Equal(2, b.Hits);
    }

    [Fact]
    public async Task Get_VaryByLanguage_TwoValuesTwoEntries()
    {
        await using var b = await Backend();
        await using var prox = await ProxUnderTest.StartAsync(Route(b, "cache { vary-by = [\"Accept-Language\"] }"), new ManualClock());

        void En(HttpRequestMessage r) => r.Headers.AcceptLanguage.ParseAdd("en");
        void De(HttpRequestMessage r) => r.Headers.AcceptLanguage.ParseAdd("de");
        var en1 = await GetAsync(prox, "/p?vary=1", En);
        var de1 = await GetAsync(prox, "/p?vary=1", De);
        var en2 = await GetAsync(prox, "/p?vary=1", En);
        var de2 = await GetAsync(prox, "/p?vary=1", De);

        Assert.Equal(("n=1 lang=en", "n=2 lang=de"), (en1.Body, de1.Body));
        Assert.Equal(("HIT", "n=1 lang=en"), (en2.XCache, en2.Body));
        Assert.Equal(("HIT", "n=2 lang=de"), (de2.XCache, de2.Body));
        Assert.Equal(2, b.Hits);
        Assert.Equal(2, (await RouteCacheStatusAsync(prox)).GetProperty("entries").GetInt64());
    }

    [Fact]
    public async Task Get_BackendVaryWithoutVaryBy_OtherValueIsAMiss()
    {
        await using var b = await Backend();
        await using var prox = await ProxUnderTest.StartAsync(Route(b), new ManualClock());

        await GetAsync(prox, "/p?vary=1", r => r.Headers.AcceptLanguage.ParseAdd("en"));
        var de = await GetAsync(prox, "/p?vary=1", r => r.Headers.AcceptLanguage.ParseAdd("de"));

        Assert.Equal(("MISS", "n=2 lang=de"), (de.XCache, de.Body));
    }

    [Fact]
    public async Task Get_WithAuthorization_CachedOnlyWhenPublic()
    {
        await using var b = await Backend();
        await using var prox = await ProxUnderTest.StartAsync(Route(b), new ManualClock());
        void Auth(HttpRequestMessage r) => r.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "t");

        await GetAsync(prox, "/private", Auth);
        var again = await GetAsync(prox, "/private", Auth);
        await GetAsync(prox, "/shared?cc=public", Auth);
        var shared = await GetAsync(prox, "/shared?cc=public", Auth);

        Assert.Equal("MISS", again.XCache);
        Assert.Equal("HIT", shared.XCache);
        Assert.Equal(3, b.Hits);
    }

    [Fact]
    public async Task Get_IfNoneMatchOrIfModifiedSince_Answered304FromCache()
    {
        await using var b = await Backend();
        await using var prox = await ProxUnderTest.StartAsync(Route(b), new ManualClock());
        await GetAsync(prox, "/etag");

        var byTag = await GetAsync(prox, "/etag", r => r.Headers.TryAddWithoutValidation("If-None-Match", "\"v0\", W/\"v1\""));
        var byDate = await GetAsync(prox, "/etag", r => r.Headers.TryAddWithoutValidation("If-Modified-Since", "Fri, 02 Jan 2026 00:00:00 GMT"));
        var changed = await GetAsync(prox, "/etag", r => r.Headers.TryAddWithoutValidation("If-None-Match", "\"v0\""));

        Assert.Equal((HttpStatusCode.NotModified, "", "HIT"), (byTag.Status, byTag.Body, byTag.XCache));
        Assert.Equal(HttpStatusCode.NotModified, byDate.Status);
        Assert.Equal((HttpStatusCode.OK, "n=1 lang="), (changed.Status, changed.Body));
        Assert.Equal(1, b.Hits);
    }

    /// <summary>Answers 304 to a matching If-None-Match, else 200 with <c>n=&lt;hits&gt;</c>; <c>?cc=</c> sets Cache-Control.</summary>
    private static Task<TestBackend> ValidatingBackend() => TestBackend.StartAsync("v", async ctx =>
    {
        if (ctx.Request.Query.TryGetValue("cc", out var cc)) ctx.Response.Headers.CacheControl = cc.ToString();
        ctx.Response.Headers.ETag = "\"v1\"";
        if (ctx.Request.Headers.IfNoneMatch == "\"v1\"")
        {
            ctx.Response.StatusCode = 304;
            return;
        }
        await ctx.Response.WriteAsync("full body");
    });

    [Fact]
    public async Task Get_ExpiredEntryWithETag_RevalidatedWith304_ServedAndFreshAgain()
    {
        await using var b = await ValidatingBackend();
        var clock = new ManualClock();
        await using var prox = await ProxUnderTest.StartAsync(Route(b), clock);
        await GetAsync(prox, "/r?cc=max-age=10");

        clock.Advance(TimeSpan.FromSeconds(11));
        var revalidated = await GetAsync(prox, "/r?cc=max-age=10");
        clock.Advance(TimeSpan.FromSeconds(5));
        var hit = await GetAsync(prox, "/r?cc=max-age=10");

        Assert.Equal((HttpStatusCode.OK, "REVALIDATED", "full body", "0"), (revalidated.Status, revalidated.XCache, revalidated.Body, revalidated.Age));
        Assert.Equal(("HIT", "full body", "5"), (hit.XCache, hit.Body, hit.Age));
        Assert.Equal("\"v1\"", b.Seen.Last()["If-None-Match"].ToString());
        Assert.Equal(2, b.Hits);
    }

    [Fact]
    public async Task Get_NoCacheWithETag_RevalidatedOnEveryUse()
    {
        await using var b = await ValidatingBackend();
        await using var prox = await ProxUnderTest.StartAsync(Route(b), new ManualClock());

        var first = await GetAsync(prox, "/r?cc=no-cache");
        var second = await GetAsync(prox, "/r?cc=no-cache");
        var third = await GetAsync(prox, "/r?cc=no-cache");

        Assert.Equal("MISS", first.XCache);
        Assert.Equal(("REVALIDATED", "full body"), (second.XCache, second.Body));
        Assert.Equal(("REVALIDATED", "full body"), (third.XCache, third.Body));
        Assert.Equal(3, b.Hits);
    }

    [Fact]
    public async Task Get_ClientConditionalOnExpiredEntry_BackendsAnswerPassedThrough()
    {
        await using var b = await ValidatingBackend();
        var clock = new ManualClock();
        await using var prox = await ProxUnderTest.StartAsync(Route(b), clock);
        await GetAsync(prox, "/r?cc=max-age=10");
        clock.Advance(TimeSpan.FromSeconds(11));

        var conditional = await GetAsync(prox, "/r?cc=max-age=10", r => r.Headers.TryAddWithoutValidation("If-None-Match", "\"v1\""));

        Assert.Equal((HttpStatusCode.NotModified, "MISS"), (conditional.Status, conditional.XCache));
    }

    [Fact]
    public async Task Get_OnlyBackendStopped_StaleIfError_Serves200Stale()
    {
        await using var b = await Backend();
        var clock = new ManualClock();
        await using var prox = await ProxUnderTest.StartAsync(Route(b, "cache { ttl = 10s, stale-if-error = 300s }"), clock);
        await GetAsync(prox, "/page");

        await b.StopAsync();
        clock.Advance(TimeSpan.FromSeconds(60));
        var stale = await GetAsync(prox, "/page");
        clock.Advance(TimeSpan.FromSeconds(300));
        var tooOld = await GetAsync(prox, "/page");

        Assert.Equal((HttpStatusCode.OK, "STALE", "n=1 lang=", "60"), (stale.Status, stale.XCache, stale.Body, stale.Age));
        Assert.True(tooOld.Status is HttpStatusCode.BadGateway or HttpStatusCode.ServiceUnavailable, tooOld.Status.ToString());
        Assert.Equal(1, (await RouteCacheStatusAsync(prox)).GetProperty("stale").GetInt64());
    }

    [Fact]
    public async Task Get_BackendAnswers503_StaleIfError_ServesStale()
    {
        var fail = false;
        await using var b = await TestBackend.StartAsync("b", async ctx =>
        {
            if (Volatile.Read(ref fail)) ctx.Response.StatusCode = 503;
            await ctx.Response.WriteAsync(Volatile.Read(ref fail) ? "down" : "fine");
        });
        var clock = new ManualClock();
        await using var prox = await ProxUnderTest.StartAsync(Route(b, "cache { ttl = 10s, stale-if-error = 300s }"), clock);
        await GetAsync(prox, "/page");

        Volatile.Write(ref fail, true);
        clock.Advance(TimeSpan.FromSeconds(20));
        var stale = await GetAsync(prox, "/page");

        Assert.Equal((HttpStatusCode.OK, "STALE", "fine"), (stale.Status, stale.XCache, stale.Body));
    }

    [Fact]
    public async Task Get_StaleWhileRevalidate_ServesStaleAndRefreshesOnce()
    {
        await using var b = await Backend();
        var clock = new ManualClock();
        await using var prox = await ProxUnderTest.StartAsync(Route(b, "cache { ttl = 10s, stale-while-revalidate = 30s }"), clock);
        await GetAsync(prox, "/page");

        clock.Advance(TimeSpan.FromSeconds(15));
        var stale = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => GetAsync(prox, "/page")));
        await ProxUnderTest.EventuallyAsync(async () => (await GetAsync(prox, "/page")).Body == "n=2 lang=", what: "refreshed entry served");
        var fresh = await GetAsync(prox, "/page");

        Assert.Contains(stale, s => s.XCache == "STALE" && s.Body == "n=1 lang=");
        Assert.All(stale, s => Assert.Equal(HttpStatusCode.OK, s.Status));
        Assert.Equal(("HIT", "n=2 lang="), (fresh.XCache, fresh.Body));
        Assert.Equal(2, b.Hits);
    }

    [Theory]
    [InlineData(true, "BYPASS", "n=2 lang=", 2)]
    [InlineData(false, "HIT", "n=1 lang=", 1)]
    public async Task Get_BypassHeader_HonouredOnlyFromTrustedPeers_RefreshesTheEntry(bool trusted, string expected, string after, int backendHits)
    {
        await using var b = await Backend();
        var extra = trusted ? "trusted-proxies = [\"127.0.0.1/32\"]" : "";
        await using var prox = await ProxUnderTest.StartAsync(Route(b, extra: extra), new ManualClock());
        await GetAsync(prox, "/page");

        var second = await GetAsync(prox, "/page", r => r.Headers.Add("X-No-Cache", "1"));
        var third = await GetAsync(prox, "/page");

        Assert.Equal(expected, second.XCache);
        Assert.Equal(("HIT", after), (third.XCache, third.Body));
        Assert.Equal(backendHits, b.Hits);
        Assert.Equal(trusted ? 1 : 0, (await RouteCacheStatusAsync(prox)).GetProperty("bypass").GetInt64());
    }

    [Fact]
    public async Task Head_AfterGet_ServedFromTheGetEntry()
    {
        await using var b = await Backend();
        await using var prox = await ProxUnderTest.StartAsync(Route(b), new ManualClock());
        await GetAsync(prox, "/page");

        using var resp = await prox.Client.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/page"));

        Assert.Equal(HttpStatusCode.OK, resp.StatusCode);
        Assert.Equal("HIT", resp.Headers.GetValues("X-Cache").Single());
        Assert.Equal("n=1 lang=".Length, resp.Content.Headers.ContentLength);
        Assert.Equal(1, b.Hits);
    }

    [Fact]
    public async Task Get_BodyLargerThanMaxEntry_StreamedNotStored()
    {
        await using var b = await Backend();
        await using var prox = await ProxUnderTest.StartAsync(Route(b, "cache { max-entry = 1KB }"), new ManualClock());

        var big = await GetAsync(prox, "/p?size=5000");
        await GetAsync(prox, "/p?size=5000");
        await GetAsync(prox, "/p?size=500");
        var small = await GetAsync(prox, "/p?size=500");

        Assert.Equal(5000, big.Body.Length);
        Assert.Equal(("HIT", 500), (small.XCache, small.Body.Length));
        Assert.Equal(3, b.Hits);
    }

    [Fact]
    public async Task Invalidate_ByKeyPrefixAndAll_RemovesEntries_Audited()
    {
        await using var b = await Backend();
        await using var prox = await ProxUnderTest.StartAsync(Route(b), new ManualClock());
        foreach (var p in new[] { "/a/1", "/a/2?x=1", "/ab", "/b/1" }) await GetAsync(prox, p);

        async Task<int> Invalidate(object body)
        {
            using var resp = await prox.Admin.PostAsJsonAsync("/admin/cache/invalidate", body);
            Assert.Equal(HttpStatusCode.OK, resp.StatusCode);
            return (await resp.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("removed").GetInt32();
        }

        Assert.Equal(1, await Invalidate(new { key = "/a/2?x=1" }));
        Assert.Equal(1, await Invalidate(new { prefix = "/a" })); // /a/1, not /ab
        Assert.Equal(0, await Invalidate(new { route = "other", all = true }));
        Assert.Equal(2, await Invalidate(new { all = true }));
        Assert.Equal("MISS", (await GetAsync(prox, "/a/1")).XCache);
        using var bad = await prox.Admin.PostAsJsonAsync("/admin/cache/invalidate", new { key = "/a", all = true });
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);

        var audit = await prox.Admin.GetFromJsonAsync<JsonElement>("/admin/audit");
        Assert.Equal(5, audit.GetProperty("entries").EnumerateArray().Count(e => e.GetProperty("target").GetString() == "/admin/cache/invalidate"));
    }

    [Fact]
    public async Task Get_ManyDistinctKeys_MemoryStaysWithinMaxMemory()
    {
        await using var b = await Backend();
        await using var prox = await ProxUnderTest.StartAsync(Route(b, extra: "cache.max-memory = 64KB"), new ManualClock());

        await Parallel.ForEachAsync(Enumerable.Range(0, 2000), new ParallelOptions { MaxDegreeOfParallelism = 8 },
            async (i, _) => Assert.Equal("MISS", (await GetAsync(prox, "/k/" + i)).XCache));

        var status = await prox.StatusAsync();
        var global = status.GetProperty("cache");
        Assert.Equal(64_000, global.GetProperty("maxBytes").GetInt64());
        Assert.InRange(global.GetProperty("bytes").GetInt64(), 1, 64_000);
        Assert.True(global.GetProperty("evictions").GetInt64() > 1000);
        Assert.Equal(global.GetProperty("entries").GetInt64(), (await RouteCacheStatusAsync(prox)).GetProperty("entries").GetInt64());
        Assert.Equal("HIT", (await GetAsync(prox, "/k/1999")).XCache);
    }

    [Fact]
    public async Task Get_RouteWithoutCache_NoXCacheAndAlwaysForwarded()
    {
        await using var b = await Backend();
        await using var prox = await ProxUnderTest.StartAsync(Route(b, cache: ""), new ManualClock());

        var first = await GetAsync(prox, "/page");
        var second = await GetAsync(prox, "/page");

        Assert.Equal((null, null), (first.XCache, second.XCache));
        Assert.Equal(2, b.Hits);
        Assert.False((await prox.StatusAsync()).GetProperty("routes")[0].TryGetProperty("cache", out _));
    }

    [Fact]
    public async Task Reload_EnablesCache_AppliesInPlace()
    {
        await using var b = await Backend();
        await using var prox = await ProxUnderTest.StartFromFileAsync(Route(b, cache: ""));
        await GetAsync(prox, "/page");

        var result = await prox.ReloadAsync(Route(b, "cache { ttl = 60s }"));
        Assert.True(result.Ok);
        await ProxUnderTest.EventuallyAsync(async () => (await GetAsync(prox, "/page")).XCache == "HIT", what: "cache on after reload");
    }
}
