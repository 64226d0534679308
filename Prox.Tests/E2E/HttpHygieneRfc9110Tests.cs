using System.Net;
using System.Net.Sockets;
using System.Text;
using Prox.Tests.Infrastructure;
using Xunit;

namespace Prox.Tests.E2E;

/// <summary>RFC 9110 rules a client library would hide: TRACE/TRACK and Max-Forwards, header names outside the
/// token set, Connection lists that name a connection option beside header names (Kestrel reduces those to the option,
/// see <c>ConnectionHeaderCapture</c>). Sent over raw sockets so the request is exactly as written; responses come
/// from a raw origin where Kestrel would rewrite them.</summary>
public class HttpHygieneRfc9110Tests
{
    /// <summary>One request on a fresh connection; reads one whole response (Content-Length or chunked framing),
    /// so a keep-alive connection does not make the test wait for the server to close.</summary>
    internal static async Task<(string Head, string Body)> RawAsync(Uri proxy, string request)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(proxy.Host, proxy.Port);
        var stream = tcp.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(request));
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var buf = new byte[16384];
        var sb = new StringBuilder();
        while (true)
        {
            int n;
            try
            {
                n = await stream.ReadAsync(buf, cts.Token);
            }
            catch (IOException)
            {
                break; // the server may reset after answering a bad request
            }
            if (n == 0) break;
            sb.Append(Encoding.ASCII.GetString(buf, 0, n));
            if (Complete(sb.ToString())) break;
        }
        var text = sb.ToString();
        var end = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        return end < 0 ? (text, "") : (text[..end], text[(end + 4)..]);
    }

    private static bool Complete(string text)
    {
        var end = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        if (end < 0) return false;
        var head = text[..end];
        var body = text[(end + 4)..];
        if (head.Contains("Transfer-Encoding: chunked", StringComparison.OrdinalIgnoreCase))
            return body.EndsWith("0\r\n\r\n", StringComparison.Ordinal);
        var cl = head.Split("\r\n").FirstOrDefault(l => l.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase));
        // no length: a bodiless status, or the server closes the connection to end the body
        return cl is null ? head.StartsWith("HTTP/1.1 204", StringComparison.Ordinal) || head.StartsWith("HTTP/1.1 304", StringComparison.Ordinal)
            : body.Length >= int.Parse(cl["Content-Length:".Length..].Trim());
    }

    private static string Header(string head, string name) =>
        head.Split("\r\n").FirstOrDefault(l => l.StartsWith(name + ":", StringComparison.OrdinalIgnoreCase))?[(name.Length + 1)..].Trim() ?? "";

    private static async Task<(TestBackend, ProxUnderTest)> StartAsync(string routeKeys = "")
    {
        var a = await TestBackend.StartAsync("a");
        return (a, await ProxUnderTest.StartAsync($$"""
            routes.r {
              {{routeKeys}}
              backends = [ { url = "{{a.Url}}" } ]
            }
            """));
    }

    private const string Echo = "\r\nHost: test\r\nCookie: session=secret\r\nAuthorization: Bearer secret\r\nX-Echo: 1\r\n";

    [Theory]
    [InlineData("TRACE")]
    [InlineData("TRACK")]
    public async Task TraceAndTrack_405ByDefault_NeverReachTheBackend(string method)
    {
        var (a, prox) = await StartAsync();
        await using var _a = a;
        await using var _p = prox;

        var (head, body) = await RawAsync(prox.ProxyUrl, $"{method} /x HTTP/1.1{Echo}\r\n");

        Assert.StartsWith("HTTP/1.1 405", head);
        Assert.Contains("application/problem+json", Header(head, "Content-Type"));
        Assert.DoesNotContain("TRACE", Header(head, "Allow"));
        Assert.Contains("GET", Header(head, "Allow"));
        Assert.DoesNotContain("secret", body);
        Assert.Equal(0, a.Hits);
    }

    [Fact]
    public async Task AllowTrace_MaxForwardsZeroAnsweredByProx_OtherwiseForwardedDecremented_TrackStillRefused()
    {
        var (a, prox) = await StartAsync("allow-trace = true");
        await using var _a = a;
        await using var _p = prox;

        var (head, body) = await RawAsync(prox.ProxyUrl, $"TRACE /x?q=1 HTTP/1.1{Echo}Max-Forwards: 0\r\n\r\n");

        Assert.StartsWith("HTTP/1.1 200", head);
        Assert.Equal("message/http", Header(head, "Content-Type"));
        Assert.StartsWith("TRACE /x?q=1 HTTP/1.1\r\n", body);
        Assert.Contains("X-Echo: 1\r\n", body);
        Assert.Contains("Max-Forwards: 0\r\n", body);
        Assert.DoesNotContain("secret", body);
        Assert.Equal(0, a.Hits);

        var (withLimit, _) = await RawAsync(prox.ProxyUrl, $"TRACE /x HTTP/1.1{Echo}Max-Forwards: 3\r\n\r\n");
        var (without, _) = await RawAsync(prox.ProxyUrl, $"TRACE /x HTTP/1.1{Echo}\r\n");
        var (track, _) = await RawAsync(prox.ProxyUrl, $"TRACK /x HTTP/1.1{Echo}\r\n");

        Assert.StartsWith("HTTP/1.1 200", withLimit);
        Assert.StartsWith("HTTP/1.1 200", without);
        Assert.StartsWith("HTTP/1.1 405", track);
        var seen = a.Seen.ToArray();
        Assert.Equal(2, seen.Length);
        Assert.Equal("2", seen[0]["Max-Forwards"].ToString());
        Assert.False(seen[1].ContainsKey("Max-Forwards"));
    }

    [Fact]
    public async Task OptionsWithMaxForwardsZero_AnsweredByProx()
    {
        var (a, prox) = await StartAsync();
        await using var _a = a;
        await using var _p = prox;

        var (zero, _) = await RawAsync(prox.ProxyUrl, "OPTIONS /x HTTP/1.1\r\nHost: test\r\nMax-Forwards: 0\r\n\r\n");
        var (one, _) = await RawAsync(prox.ProxyUrl, "OPTIONS /x HTTP/1.1\r\nHost: test\r\nMax-Forwards: 1\r\n\r\n");

        Assert.StartsWith("HTTP/1.1 200", zero);
        Assert.Contains("OPTIONS", Header(zero, "Allow"));
        Assert.StartsWith("HTTP/1.1 200", one);
        Assert.Equal("0", a.Seen.Single()["Max-Forwards"].ToString());
    }

    [Theory]
    [InlineData("X-Invalid[]: x")]
    [InlineData("X-Invalid(): x")]
    [InlineData("X-In\"valid: x")]
    [InlineData("X-In,valid: x")]
    public async Task HeaderNameOutsideTokenSet_400(string header)
    {
        var (a, prox) = await StartAsync();
        await using var _a = a;
        await using var _p = prox;

        var (head, _) = await RawAsync(prox.ProxyUrl, $"GET / HTTP/1.1\r\nHost: test\r\n{header}\r\n\r\n");
        var (valid, _) = await RawAsync(prox.ProxyUrl, "GET / HTTP/1.1\r\nHost: test\r\nX-Valid!#$%&'*+.^_`|~09: x\r\n\r\n");

        Assert.StartsWith("HTTP/1.1 400", head);
        Assert.StartsWith("HTTP/1.1 200", valid);
        Assert.Equal(1, a.Hits);
    }

    [Theory]
    [InlineData("keep-alive, X-Hop-Req")]
    [InlineData("X-Hop-Req, keep-alive")]
    [InlineData("close, X-Hop-Req")]
    [InlineData("X-Hop-Req")]
    public async Task ConnectionNominatedHeader_RemovedWithConnectionOptionsInTheList(string connection)
    {
        var (a, prox) = await StartAsync();
        await using var _a = a;
        await using var _p = prox;

        var (head, _) = await RawAsync(prox.ProxyUrl,
            $"GET / HTTP/1.1\r\nHost: test\r\nConnection: {connection}\r\nX-Hop-Req: 1\r\nX-End-To-End: 1\r\n\r\n");

        Assert.StartsWith("HTTP/1.1 200", head);
        var seen = a.Seen.Single();
        Assert.False(seen.ContainsKey("X-Hop-Req"), string.Join("; ", seen.Select(h => h.Key + ": " + h.Value)));
        Assert.True(seen.ContainsKey("X-End-To-End"));
    }

    [Fact]
    public async Task ConnectionNominatedHeader_SeveralConnectionLines_OneList_AndNotCarriedToTheNextRequest()
    {
        var (a, prox) = await StartAsync();
        await using var _a = a;
        await using var _p = prox;

        using var tcp = new TcpClient();
        await tcp.ConnectAsync(prox.ProxyUrl.Host, prox.ProxyUrl.Port);
        var stream = tcp.GetStream();
        // two Connection lines nominate X-Hop-Req; the next request on the same connection sends it end to end
        await stream.WriteAsync(Encoding.ASCII.GetBytes(
            "GET /1 HTTP/1.1\r\nHost: test\r\nConnection: keep-alive\r\nConnection: X-Hop-Req\r\nX-Hop-Req: 1\r\n\r\n"
            + "GET /2 HTTP/1.1\r\nHost: test\r\nConnection: keep-alive\r\nX-Hop-Req: 2\r\n\r\n"));
        await ProxUnderTest.EventuallyAsync(() => Task.FromResult(a.Seen.Count == 2), what: "both requests forwarded");

        var seen = a.Seen.ToArray();
        Assert.False(seen[0].ContainsKey("X-Hop-Req"));
        Assert.Equal("2", seen[1]["X-Hop-Req"].ToString());
    }

    [Theory]
    [InlineData("keep-alive, X-Secret-Hop")]
    [InlineData("X-Secret-Hop")]
    public async Task ConnectionNominatedResponseHeader_Removed(string connection)
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        using var stop = new CancellationTokenSource();
        var serving = Accepting.EachAsync(listener, stop.Token, socket => _ = AnswerAsync(socket, connection));
        await using var prox = await ProxUnderTest.StartAsync($$"""
            routes.r { backends = [ { url = "http://127.0.0.1:{{((IPEndPoint)listener.LocalEndpoint).Port}}" } ] }
            """);

        using var resp = await prox.Client.GetAsync("/");

        Assert.Equal(HttpStatusCode.OK, resp.StatusCode);
        Assert.False(resp.Headers.Contains("X-Secret-Hop"));
        Assert.Equal("yes", resp.Headers.GetValues("X-Kept").Single());
        stop.Cancel();
        await serving;
    }

    /// <summary>A raw origin: answers every request on the connection with a response whose Connection header is
    /// <paramref name="connection"/> (Kestrel would rewrite it).</summary>
    private static async Task AnswerAsync(Socket socket, string connection)
    {
        using var s = new NetworkStream(socket, ownsSocket: true);
        var buf = new byte[8192];
        var pending = "";
        try
        {
            while (true)
            {
                var n = await s.ReadAsync(buf);
                if (n == 0) return;
                pending += Encoding.ASCII.GetString(buf, 0, n);
                for (int end; (end = pending.IndexOf("\r\n\r\n", StringComparison.Ordinal)) >= 0; pending = pending[(end + 4)..])
                    await s.WriteAsync(Encoding.ASCII.GetBytes(
                        $"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: {connection}\r\nX-Secret-Hop: 1\r\nX-Kept: yes\r\n\r\nok"));
            }
        }
        catch (IOException)
        {
            // the proxy closed its pooled connection
        }
    }
}
