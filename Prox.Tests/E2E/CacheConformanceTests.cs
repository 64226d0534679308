using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.AspNetCore.Http;
using Prox.Tests.Infrastructure;
using Xunit;

namespace Prox.Tests.E2E;

/// <summary>RFC 9111 / RFC 9213 behaviours of the response cache over real sockets (issue 13, section 5).</summary>
public class CacheConformanceTests
{
    private static Task<TestBackend> Backend() => TestBackend.StartAsync("b", EchoQueryAsHeaders);

    /// <summary>Every query parameter becomes a response header of that name (<c>?Expires=…&amp;Age=…</c>); a
    /// request's <c>X-Status</c> header sets the status (in the query it would change the URI).</summary>
    private static Task EchoQueryAsHeaders(HttpContext ctx)
    {
        foreach (var (name, value) in ctx.Request.Query) ctx.Response.Headers[name] = value;
        if (ctx.Request.Headers.TryGetValue("X-Status", out var status)) ctx.Response.StatusCode = int.Parse(status!);
        return ctx.Response.StatusCode == StatusCodes.Status204NoContent ? Task.CompletedTask : ctx.Response.WriteAsync("stored");
    }

    private static string Route(Uri backend, string cache = "cache { ttl = 300s }") => $$"""
        routes.web {
          match.path-prefix = "/"
          backends = [ { url = "{{backend}}" } ]
          {{cache}}
        }
        """;

    private static async Task<(HttpStatusCode Status, string Body, string? XCache, HttpResponseMessage Response)> SendAsync(
        ProxUnderTest prox, string path, HttpMethod? method = null, int? status = null)
    {
        using var req = new HttpRequestMessage(method ?? HttpMethod.Get, path);
        if (status is not null) req.Headers.Add("X-Status", status.Value.ToString());
        var resp = await prox.Client.SendAsync(req);
        var body = await resp.Content.ReadAsStringAsync();
        return (resp.StatusCode, body, resp.Headers.TryGetValues("X-Cache", out var x) ? x.Single() : null, resp);
    }

    private static async Task<string?> XCacheAsync(ProxUnderTest prox, string path) => (await SendAsync(prox, path)).XCache;

    /// <summary>The response headers of the first request (as query) decide whether the second is a hit.</summary>
    [Theory]
    [InlineData("Expires=Wed, 01 Dec 2094 16:00:00 GMT", "HIT")]
    [InlineData("Expires=Wed, 01 Dec 2094 6:00:00 GMT", "MISS")] // §5.3: one-digit hour, not an HTTP-date: expired
    [InlineData("Expires=Wed, 01 Dec 2094 16:00:00 UTC", "MISS")] // not GMT
    [InlineData("Expires=2094-12-01T16:00:00Z", "MISS")] // ISO 8601 is no HTTP-date
    [InlineData("Expires=0", "MISS")]
    [InlineData("Cache-Control=max-age=3600&Age=7200, 0", "MISS")] // §5.1: the first member counts: stale
    [InlineData("Cache-Control=max-age=3600&Age=0, 7200", "HIT")]
    [InlineData("Cache-Control=max-age=3600&Age=7200", "MISS")]
    [InlineData("Cache-Control=max-age=3600&Age=junk", "HIT")] // an invalid Age is ignored
    [InlineData("Cache-Control=private, s-maxage=60", "MISS")] // §5.2.2.7: private wins, a shared cache does not store
    [InlineData("Cache-Control=s-maxage=60", "HIT")]
    public async Task Get_ResponseHeaders_DecideTheSecondRequest(string headers, string second)
    {
        await using var b = await Backend();
        await using var prox = await ProxUnderTest.StartAsync(Route(b.Url), new ManualClock());
        var path = "/h?" + string.Join('&', headers.Split('&').Select(h => h.Split('=', 2)).Select(kv => kv[0] + "=" + Uri.EscapeDataString(kv[1])));

        Assert.Equal("MISS", await XCacheAsync(prox, path));
        Assert.Equal(second, await XCacheAsync(prox, path));
    }

    [Theory]
    [InlineData("POST", "/p", 200, "MISS")]
    [InlineData("PUT", "/p", 204, "MISS")]
    [InlineData("DELETE", "/p", 200, "MISS")]
    [InlineData("PATCH", "/p", 200, "MISS")]
    [InlineData("FROB", "/p", 200, "MISS")] // unknown methods are unsafe
    [InlineData("POST", "/p", 500, "HIT")] // an error changes nothing
    [InlineData("OPTIONS", "/p", 200, "HIT")] // safe
    [InlineData("POST", "/other?Location=/p", 201, "MISS")]
    [InlineData("POST", "/other?Content-Location=/p", 200, "MISS")]
    [InlineData("POST", "/other?Location=http://elsewhere.example/p", 201, "HIT")] // another host's entries stay
    [InlineData("POST", "/other", 200, "HIT")]
    public async Task UnsafeRequest_Successful_InvalidatesTargetAndLocations(string method, string path, int status, string after)
    {
        await using var b = await Backend();
        await using var prox = await ProxUnderTest.StartAsync(Route(b.Url), new ManualClock());
        await SendAsync(prox, "/p");
        Assert.Equal("HIT", await XCacheAsync(prox, "/p"));

        var unsafeResult = await SendAsync(prox, path, new HttpMethod(method), status);

        Assert.Equal(status, (int)unsafeResult.Status);
        Assert.Equal(after, await XCacheAsync(prox, "/p"));
    }

    [Fact]
    public async Task UnsafeRequest_VaryByRoute_InvalidatesEveryVariant()
    {
        await using var b = await Backend();
        await using var prox = await ProxUnderTest.StartAsync(Route(b.Url, """cache { ttl = 300s, vary-by = ["Accept-Language"] }"""),
            new ManualClock());
        async Task<string?> Get(string lang)
        {
            using var req = new HttpRequestMessage(HttpMethod.Get, "/v");
            req.Headers.AcceptLanguage.ParseAdd(lang);
            using var resp = await prox.Client.SendAsync(req);
            return resp.Headers.TryGetValues("X-Cache", out var x) ? x.Single() : null;
        }
        await Get("en");
        await Get("de");

        await SendAsync(prox, "/v", HttpMethod.Post);

        Assert.Equal(("MISS", "MISS"), (await Get("en"), await Get("de")));
    }

    [Fact]
    public async Task Get_CdnCacheControl_WinsOverCacheControl_NotSentToClient()
    {
        await using var b = await Backend();
        await using var prox = await ProxUnderTest.StartAsync(Route(b.Url), new ManualClock());
        const string path = "/c?Cache-Control=no-store&CDN-Cache-Control=max-age%3D60";

        var miss = await SendAsync(prox, path);
        var hit = await SendAsync(prox, path);

        Assert.Equal(("MISS", "HIT", "stored", 1L), (miss.XCache, hit.XCache, hit.Body, b.Hits));
        Assert.False(miss.Response.Headers.Contains("CDN-Cache-Control"));
        Assert.False(hit.Response.Headers.Contains("CDN-Cache-Control"));
        Assert.Equal("no-store", hit.Response.Headers.CacheControl?.ToString());
    }

    [Fact]
    public async Task Get_CdnCacheControlNoStore_NotStoredDespiteCacheControl()
    {
        await using var b = await Backend();
        await using var prox = await ProxUnderTest.StartAsync(Route(b.Url), new ManualClock());
        const string path = "/c?Cache-Control=max-age%3D60&CDN-Cache-Control=no-store";

        await SendAsync(prox, path);

        Assert.Equal("MISS", await XCacheAsync(prox, path));
    }

    [Fact]
    public async Task Get_Revalidated304_UpdatesAndAddsStoredHeaders()
    {
        long version = 0;
        await using var b = await TestBackend.StartAsync("v", async ctx =>
        {
            var v = Interlocked.Increment(ref version);
            ctx.Response.Headers.CacheControl = "max-age=10";
            ctx.Response.Headers.ETag = "\"e\"";
            ctx.Response.Headers["X-Version"] = v.ToString();
            if (v > 1) ctx.Response.Headers["X-Added"] = "yes";
            if (ctx.Request.Headers.IfNoneMatch == "\"e\"")
            {
                ctx.Response.Headers["Content-Foo"] = "bar";
                ctx.Response.StatusCode = 304;
                return;
            }
            await ctx.Response.WriteAsync("body");
        });
        var clock = new ManualClock();
        await using var prox = await ProxUnderTest.StartAsync(Route(b.Url), clock);
        await SendAsync(prox, "/r");

        clock.Advance(TimeSpan.FromSeconds(11));
        var revalidated = await SendAsync(prox, "/r");
        var hit = await SendAsync(prox, "/r");

        Assert.Equal(("REVALIDATED", "HIT", "body"), (revalidated.XCache, hit.XCache, hit.Body));
        foreach (var r in new[] { revalidated.Response, hit.Response })
        {
            Assert.Equal("2", r.Headers.GetValues("X-Version").Single());
            Assert.Equal("yes", r.Headers.GetValues("X-Added").Single());
            Assert.Equal("bar", r.Headers.TryGetValues("Content-Foo", out var h) ? h.Single() : r.Content.Headers.GetValues("Content-Foo").Single());
        }
    }

    [Fact]
    public async Task Get_ImmutableButStale_FetchedAgain()
    {
        await using var b = await Backend();
        var clock = new ManualClock();
        await using var prox = await ProxUnderTest.StartAsync(Route(b.Url), clock);
        const string path = "/i?Cache-Control=max-age%3D10%2C%20immutable";
        await SendAsync(prox, path);

        clock.Advance(TimeSpan.FromSeconds(11));

        Assert.Equal("MISS", await XCacheAsync(prox, path));
        Assert.Equal(2, b.Hits);
    }

    /// <summary>
    /// Kestrel has no API for an app to send 103 Early Hints, so this backend writes HTTP/1.1 by hand: a 103 with a
    /// <c>Link</c>, then the final 200. YARP's HttpClient consumes interim responses (all 1xx but 101), so Prox does
    /// not relay the 103; what matters for the cache is that the final response, not the 103, is stored.
    /// </summary>
    [Fact]
    public async Task Get_BackendSends103_FinalResponseStoredAndServed()
    {
        await using var backend = await EarlyHintsBackend.StartAsync();
        await using var prox = await ProxUnderTest.StartAsync(Route(backend.Url), new ManualClock());

        var miss = await SendAsync(prox, "/eh");
        var hit = await SendAsync(prox, "/eh");

        Assert.Equal((HttpStatusCode.OK, "MISS", "hello"), (miss.Status, miss.XCache, miss.Body));
        Assert.Equal((HttpStatusCode.OK, "HIT", "hello"), (hit.Status, hit.XCache, hit.Body));
        Assert.Equal(1, backend.Hits);
    }

    /// <summary>A raw HTTP/1.1 backend: every request gets a 103 Early Hints, then a cacheable 200 "hello".</summary>
    private sealed class EarlyHintsBackend : IAsyncDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly CancellationTokenSource _stop = new();
        private Task _accepting = Task.CompletedTask;
        private long _hits;

        public Uri Url => new($"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}");
        public long Hits => Interlocked.Read(ref _hits);

        public static Task<EarlyHintsBackend> StartAsync()
        {
            var b = new EarlyHintsBackend();
            b._listener.Start();
            b._accepting = b.AcceptAsync();
            return Task.FromResult(b);
        }

        private async Task AcceptAsync()
        {
            var connections = new List<Task>();
            try
            {
                while (true) connections.Add(ServeAsync(await _listener.AcceptTcpClientAsync(_stop.Token)));
            }
            catch (OperationCanceledException)
            {
                await Task.WhenAll(connections);
            }
        }

        private async Task ServeAsync(TcpClient client)
        {
            using var _ = client;
            var stream = client.GetStream();
            using var reader = new StreamReader(stream, Encoding.ASCII, leaveOpen: true);
            try
            {
                while (true)
                {
                    // GET requests only: the head ends with an empty line and no body follows
                    string? line;
                    while (!string.IsNullOrEmpty(line = await reader.ReadLineAsync(_stop.Token))) { }
                    if (line is null) return;
                    Interlocked.Increment(ref _hits);
                    const string response = "HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n"
                        + "HTTP/1.1 200 OK\r\nCache-Control: max-age=60\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello";
                    await stream.WriteAsync(Encoding.ASCII.GetBytes(response), _stop.Token);
                }
            }
            catch (Exception e) when (e is OperationCanceledException or IOException)
            {
                // the test ended or Prox closed its pooled connection
            }
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            _listener.Stop();
            await _accepting;
            _stop.Dispose();
        }
    }
}
