using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Prox.Tests.Infrastructure;
using Xunit;

namespace Prox.Tests.E2E;

public class HttpHygieneTests
{
    private static async Task<string> RawAsync(Uri proxy, string request)
    {
        var (head, body) = await HttpHygieneRfc9110Tests.RawAsync(proxy, request);
        return head + "\r\n\r\n" + body;
    }

    [Fact]
    public async Task NoRoute_404ProblemJson()
    {
        await using var a = await TestBackend.StartAsync("a");
        await using var prox = await ProxUnderTest.StartAsync($$"""
            routes.api { match.path-prefix = "/api", backends = [ { url = "{{a.Url}}" } ] }
            """);

        using var resp = await prox.Client.GetAsync("/other");

        Assert.Equal(HttpStatusCode.NotFound, resp.StatusCode);
        Assert.Equal("application/problem+json", resp.Content.Headers.ContentType?.MediaType);
        var p = JsonDocument.Parse(await resp.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(404, p.GetProperty("status").GetInt32());
        Assert.Equal(0, a.Hits);
    }

    [Theory]
    // RFC 9112 §6.3: ambiguous framing is how requests get smuggled
    [InlineData("POST /x HTTP/1.1\r\nHost: test\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", "400")]
    // a reverse proxy never tunnels
    [InlineData("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n", "405")]
    // absolute-form for a host no route names: not an open proxy
    [InlineData("GET http://evil.example/steal HTTP/1.1\r\nHost: evil.example\r\n\r\n", "404")]
    public async Task RefusedRequests_NeverReachTheBackend(string request, string status)
    {
        await using var a = await TestBackend.StartAsync("a");
        await using var prox = await ProxUnderTest.StartAsync($$"""routes.r { backends = [ { url = "{{a.Url}}" } ] }""");

        var resp = await RawAsync(prox.ProxyUrl, request);

        Assert.StartsWith($"HTTP/1.1 {status}", resp);
        Assert.Equal(0, a.Hits);
        if (status == "400") Assert.Contains("Connection: close", resp, StringComparison.OrdinalIgnoreCase);
        if (status == "405") Assert.Contains("Allow: ", resp, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task HopByHopHeaders_RemovedBothWays_IncludingConnectionNominated()
    {
        await using var a = await TestBackend.StartAsync("a", ctx =>
        {
            ctx.Response.Headers["X-Secret-Hop"] = "1";
            ctx.Response.Headers["Connection"] = "X-Secret-Hop";
            ctx.Response.Headers["X-Kept"] = "yes";
            return ctx.Response.WriteAsync("ok");
        });
        await using var prox = await ProxUnderTest.StartAsync($$"""routes.r { backends = [ { url = "{{a.Url}}" } ] }""");

        var req = new HttpRequestMessage(HttpMethod.Get, "/");
        req.Headers.TryAddWithoutValidation("Connection", "X-Client-Hop");
        req.Headers.TryAddWithoutValidation("X-Client-Hop", "1");
        req.Headers.TryAddWithoutValidation("Keep-Alive", "timeout=5");
        req.Headers.TryAddWithoutValidation("X-End-To-End", "1");
        using var resp = await prox.Client.SendAsync(req);

        var seen = a.Seen.Single();
        Assert.False(seen.ContainsKey("X-Client-Hop"));
        Assert.False(seen.ContainsKey("Keep-Alive"));
        Assert.True(seen.ContainsKey("X-End-To-End"));
        Assert.False(resp.Headers.Contains("X-Secret-Hop"));
        Assert.True(resp.Headers.Contains("X-Kept"));
    }

    [Fact]
    public async Task ForwardedHeaders_FromUntrustedPeer_ForgeriesReplaced_HostPreserved()
    {
        await using var a = await TestBackend.StartAsync("a");
        await using var prox = await ProxUnderTest.StartAsync($$"""routes.r { backends = [ { url = "{{a.Url}}" } ] }""");

        var req = new HttpRequestMessage(HttpMethod.Get, "/x");
        req.Headers.Host = "shop.example:8443";
        req.Headers.TryAddWithoutValidation("X-Forwarded-For", "6.6.6.6");
        req.Headers.TryAddWithoutValidation("X-Request-Id", "forged-id");
        using var resp = await prox.Client.SendAsync(req);

        var seen = a.Seen.Single();
        Assert.Equal("127.0.0.1", seen["X-Forwarded-For"].ToString());
        Assert.Equal("http", seen["X-Forwarded-Proto"].ToString());
        Assert.Equal("shop.example:8443", seen["X-Forwarded-Host"].ToString());
        Assert.Equal("shop.example:8443", seen["Host"].ToString());
        var id = seen["X-Request-Id"].ToString();
        Assert.NotEqual("forged-id", id);
        Assert.Matches("^[0-9a-f]{32}$", id);
        Assert.Equal(id, resp.Headers.GetValues("X-Request-Id").Single());
    }

    [Fact]
    public async Task ForwardedHeaders_FromTrustedProxy_AppendedAndRequestIdKept()
    {
        await using var a = await TestBackend.StartAsync("a");
        await using var prox = await ProxUnderTest.StartAsync($$"""
            trusted-proxies = ["127.0.0.0/8"]
            routes.r { backends = [ { url = "{{a.Url}}" } ] }
            """);

        var req = new HttpRequestMessage(HttpMethod.Get, "/x");
        req.Headers.TryAddWithoutValidation("X-Forwarded-For", "203.0.113.7");
        req.Headers.TryAddWithoutValidation("X-Request-Id", "abc-123");
        using var resp = await prox.Client.SendAsync(req);

        var seen = a.Seen.Single();
        Assert.Equal("203.0.113.7, 127.0.0.1", seen["X-Forwarded-For"].ToString());
        Assert.Equal("abc-123", seen["X-Request-Id"].ToString());
        Assert.Equal("abc-123", resp.Headers.GetValues("X-Request-Id").Single());
    }

    [Fact]
    public async Task PreserveHostOff_SendsBackendHost_StripPrefix_RewritesPath()
    {
        await using var a = await TestBackend.StartAsync("a");
        await using var prox = await ProxUnderTest.StartAsync($$"""
            routes.api { match.path-prefix = "/api", strip-prefix = true, preserve-host = false, backends = [ { url = "{{a.Url}}" } ] }
            """);

        using var r1 = await prox.Client.GetAsync("/api/users/7?x=1&y=%20");
        using var r2 = await prox.Client.GetAsync("/api");

        Assert.Equal(["/users/7?x=1&y=%20", "/"], a.Paths.ToArray());
        Assert.Equal($"127.0.0.1:{a.Port}", a.Seen.First()["Host"].ToString());
    }

    [Fact]
    public async Task HostMatching_RoutesByHostThenPrefix()
    {
        await using var api = await TestBackend.StartAsync("api");
        await using var www = await TestBackend.StartAsync("www");
        await using var prox = await ProxUnderTest.StartAsync($$"""
            routes {
              api {
                match { path-prefix = "/", hosts = ["api.example.com"] }
                backend-header = true
                backends = [ { id = api, url = "{{api.Url}}" } ]
              }
              www {
                match { path-prefix = "/", hosts = ["*.example.com"] }
                backend-header = true
                backends = [ { id = www, url = "{{www.Url}}" } ]
              }
            }
            """);

        async Task<string> Via(string host)
        {
            var req = new HttpRequestMessage(HttpMethod.Get, "/");
            req.Headers.Host = host;
            using var resp = await prox.Client.SendAsync(req);
            return resp.StatusCode == HttpStatusCode.OK ? resp.Headers.GetValues("X-Backend-Used").Single() : ((int)resp.StatusCode).ToString();
        }

        Assert.Equal("api", await Via("api.example.com"));
        Assert.Equal("www", await Via("shop.example.com"));
        Assert.Equal("404", await Via("example.org"));
    }

    [Fact]
    public async Task ServerSentEvents_StreamedNotBuffered()
    {
        var release = new TaskCompletionSource();
        await using var sse = await TestBackend.StartAsync("sse", async ctx =>
        {
            ctx.Response.ContentType = "text/event-stream";
            await ctx.Response.WriteAsync("data: first\n\n");
            await ctx.Response.Body.FlushAsync();
            await release.Task.WaitAsync(TimeSpan.FromSeconds(20));
            await ctx.Response.WriteAsync("data: second\n\n");
        });
        await using var prox = await ProxUnderTest.StartAsync($$"""routes.r { backends = [ { url = "{{sse.Url}}" } ] }""");

        using var resp = await prox.Client.GetAsync("/events", HttpCompletionOption.ResponseHeadersRead);
        var reader = new StreamReader(await resp.Content.ReadAsStreamAsync());
        // the first event arrives while the backend is still holding the stream open
        var first = await reader.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal("data: first", first);
        release.SetResult();
        var rest = await reader.ReadToEndAsync();
        Assert.Contains("data: second", rest);
    }

    /// <summary>A backend that reads whole bodies, behind a Prox whose body limit is 1 KB.</summary>
    private static async Task<(TestBackend Backend, ProxUnderTest Prox)> StartWithOneKilobyteLimitAsync()
    {
        var a = await TestBackend.StartAsync("a", async ctx =>
        {
            await ctx.Request.Body.CopyToAsync(Stream.Null);
            await ctx.Response.WriteAsync("ok");
        });
        var prox = await ProxUnderTest.StartAsync($$"""
            limits.max-request-body = 1KB
            routes.r { backends = [ { url = "{{a.Url}}" } ] }
            """);
        return (a, prox);
    }

    [Fact]
    public async Task BodyOverLimit_413Problem()
    {
        var (a, prox) = await StartWithOneKilobyteLimitAsync();
        await using var _a = a;
        await using var _p = prox;

        using var small = await prox.Client.PostAsync("/", new ByteArrayContent(new byte[512]));
        using var big = await prox.Client.PostAsync("/", new ByteArrayContent(new byte[4096]));

        Assert.Equal(HttpStatusCode.OK, small.StatusCode);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, big.StatusCode);
        Assert.Equal("application/problem+json", big.Content.Headers.ContentType?.MediaType);
        Assert.Equal(1, a.Hits);
    }

    [Fact]
    public async Task ChunkedBodyOverLimit_413_NotA5xx()
    {
        var (a, prox) = await StartWithOneKilobyteLimitAsync();
        await using var _a = a;
        await using var _p = prox;

        // no Content-Length: the limit can only be enforced while the body streams through
        var content = new StreamContent(new MemoryStream(new byte[64 * 1024]));
        var req = new HttpRequestMessage(HttpMethod.Post, "/") { Content = content };
        req.Headers.TransferEncodingChunked = true;
        using var resp = await prox.Client.SendAsync(req);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, resp.StatusCode);
        Assert.Equal("application/problem+json", resp.Content.Headers.ContentType?.MediaType);
    }
}
