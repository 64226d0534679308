using System.Net;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Prox.Actors.Config;
using Prox.Tests.Infrastructure;
using Xunit;

namespace Prox.Tests.Tls;

/// <summary>TLS termination on real sockets: SNI selection, certificate files replaced under a running Prox, HTTP/2
/// by ALPN and h2c, the <c>/status</c> view and the expiry warning.</summary>
public sealed class TlsListenerTests : IAsyncLifetime
{
    private readonly TempDataDir _certs = new();
    private TestBackend _backend = null!;

    public async Task InitializeAsync() => _backend = await TestBackend.StartAsync("b", async ctx =>
    {
        ctx.Response.Headers["X-Seen-Proto"] = ctx.Request.Headers["X-Forwarded-Proto"];
        await ctx.Response.WriteAsync($"hello over {ctx.Request.Protocol}");
    });

    public async Task DisposeAsync()
    {
        await _backend.DisposeAsync();
        _certs.Dispose();
    }

    private string Files(string name, X509Certificate2 cert)
    {
        var (crt, key) = TestCertificates.Write(cert, _certs.Path, name);
        return $"certificate = \"{crt}\", key = \"{key}\"";
    }

    private string Route => $"routes.r {{ match.path-prefix = \"/\", backends = [ {{ url = \"{_backend.Url}\" }} ] }}";

    private static Uri TlsUrl(ProxUnderTest prox) => prox.Host.ProxyUrls.Single(u => u.Scheme == "https");

    private static async Task<(string Body, X509Certificate2 Cert, Version Version)> GetAsync(ProxUnderTest prox, string? sni, Version? version = null)
    {
        var seen = new List<X509Certificate2>();
        using var client = TestCertificates.Client(TlsUrl(prox), sni, seen, version);
        using var response = await client.GetAsync("/");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("https", response.Headers.GetValues("X-Seen-Proto").Single());
        return (await response.Content.ReadAsStringAsync(), seen.Single(), response.Version);
    }

    [Fact]
    public async Task Sni_ExactThenWildcardThenTheListenersDefault()
    {
        var fallback = TestCertificates.Create(["default.test"]);
        var api = TestCertificates.Create(["api.example.com"]);
        var wild = TestCertificates.Create(["*.example.com"], rsa: true);
        await using var prox = await ProxUnderTest.StartAsync($$"""
            listen = [ "127.0.0.1:0", { address = "127.0.0.1:0", tls { {{Files("default", fallback)}} } } ]
            tls.certificates = [
              { hosts = ["*.example.com"], {{Files("wild", wild)}} }
              { hosts = ["api.example.com"], {{Files("api", api)}} }
            ]
            {{Route}}
            """);

        Assert.Equal(api.Thumbprint, (await GetAsync(prox, "api.example.com")).Cert.Thumbprint);
        Assert.Equal(api.Thumbprint, (await GetAsync(prox, "API.Example.COM")).Cert.Thumbprint);
        Assert.Equal(wild.Thumbprint, (await GetAsync(prox, "www.example.com")).Cert.Thumbprint);
        // a wildcard covers one label
        Assert.Equal(fallback.Thumbprint, (await GetAsync(prox, "a.b.example.com")).Cert.Thumbprint);
        Assert.Equal(fallback.Thumbprint, (await GetAsync(prox, "other.test")).Cert.Thumbprint);
        // no SNI (an IP address)
        var noSni = await GetAsync(prox, null);
        Assert.Equal(fallback.Thumbprint, noSni.Cert.Thumbprint);
        Assert.Equal("hello over HTTP/1.1", noSni.Body);

        // the plain listener still speaks HTTP/1.1 in the clear
        Assert.Equal("hello over HTTP/1.1", await prox.Client.GetStringAsync("/"));
    }

    [Fact]
    public async Task NoListenerCertificate_TheFirstTlsCertificateIsTheDefault()
    {
        var first = TestCertificates.Create(["first.test"]);
        var second = TestCertificates.Create(["second.test"]);
        await using var prox = await ProxUnderTest.StartAsync($$"""
            listen = [ { address = "127.0.0.1:0", tls {} } ]
            tls.certificates = [ { hosts = ["first.test"], {{Files("first", first)}} }, { hosts = ["second.test"], {{Files("second", second)}} } ]
            {{Route}}
            """);
        Assert.Equal(first.Thumbprint, (await GetAsync(prox, "unknown.test")).Cert.Thumbprint);
        Assert.Equal(second.Thumbprint, (await GetAsync(prox, "second.test")).Cert.Thumbprint);
    }

    [Fact]
    public async Task Http2ByAlpn_ToAnHttp1Backend()
    {
        var cert = TestCertificates.Create(["h2.test"]);
        await using var prox = await ProxUnderTest.StartAsync($$"""
            listen = [ { address = "127.0.0.1:0", tls { {{Files("h2", cert)}} } } ]
            {{Route}}
            """);
        var h2 = await GetAsync(prox, "h2.test", HttpVersion.Version20);
        Assert.Equal(HttpVersion.Version20, h2.Version);
        Assert.Equal("hello over HTTP/1.1", h2.Body);
        var h1 = await GetAsync(prox, "h2.test", HttpVersion.Version11);
        Assert.Equal(HttpVersion.Version11, h1.Version);
    }

    [Fact]
    public async Task Http1OnlyTlsListener_RefusesHttp2()
    {
        var cert = TestCertificates.Create(["h1.test"]);
        await using var prox = await ProxUnderTest.StartAsync($$"""
            listen = [ { address = "127.0.0.1:0", protocols = [http1], tls { {{Files("h1", cert)}} } } ]
            {{Route}}
            """);
        Assert.Equal(HttpVersion.Version11, (await GetAsync(prox, "h1.test")).Version);
        await Assert.ThrowsAsync<HttpRequestException>(() => GetAsync(prox, "h1.test", HttpVersion.Version20));
    }

    [Theory]
    [InlineData("[http2]")]
    [InlineData("[http1, http2]")]
    public async Task H2c_PriorKnowledge_OnACleartextListener(string protocols)
    {
        await using var prox = await ProxUnderTest.StartAsync($$"""
            listen = [ { address = "127.0.0.1:0", protocols = {{protocols}} } ]
            {{Route}}
            """);
        if (protocols.Contains("http1"))
            Assert.Equal("hello over HTTP/1.1", await prox.Client.GetStringAsync("/"));
        using var client = new HttpClient(new SocketsHttpHandler { UseProxy = false })
        {
            DefaultRequestVersion = HttpVersion.Version20,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        using var response = await client.GetAsync(prox.ProxyUrl);
        Assert.Equal(HttpVersion.Version20, response.Version);
        Assert.Equal("http", response.Headers.GetValues("X-Seen-Proto").Single());
        Assert.Equal("hello over HTTP/1.1", await response.Content.ReadAsStringAsync());
    }

    /// <summary>Until a new handshake for <paramref name="sni"/> gets <paramref name="expected"/> (the files are polled).</summary>
    private static Task ServedAsync(ProxUnderTest prox, string sni, X509Certificate2 expected, string what) =>
        ProxUnderTest.EventuallyAsync(async () => (await GetAsync(prox, sni)).Cert.Thumbprint == expected.Thumbprint,
            TimeSpan.FromSeconds(15), what);

    [Fact]
    public async Task CertificateFilesReplaced_NewHandshakesUseTheNewOne_AnOpenConnectionKeepsWorking()
    {
        var before = TestCertificates.Create(["site.test"]);
        var after = TestCertificates.Create(["site.test"]);
        await using var prox = await ProxUnderTest.StartAsync($$"""
            listen = [ { address = "127.0.0.1:0", tls { {{Files("site", before)}} } } ]
            {{Route}}
            """);
        var kept = new List<X509Certificate2>();
        using var open = TestCertificates.Client(TlsUrl(prox), "site.test", kept);
        Assert.Equal(HttpStatusCode.OK, (await open.GetAsync("/")).StatusCode);

        TestCertificates.Replace(after, _certs.Path, "site");
        await ServedAsync(prox, "site.test", after, "a new handshake gets the replaced certificate");

        // the connection opened before still works, on its first handshake
        Assert.Equal(HttpStatusCode.OK, (await open.GetAsync("/")).StatusCode);
        Assert.Equal([before.Thumbprint], kept.Select(c => c.Thumbprint));
    }

    [Fact]
    public async Task ReplacedByABrokenFile_TheOldCertificateStays_FixingItLoadsTheNewOne()
    {
        var good = TestCertificates.Create(["site.test"]);
        var next = TestCertificates.Create(["site.test"]);
        await using var prox = await ProxUnderTest.StartAsync($$"""
            listen = [ { address = "127.0.0.1:0", tls { {{Files("site", good)}} } } ]
            {{Route}}
            """);
        // a key that does not belong to the certificate
        File.Copy(TestCertificates.Write(next, _certs.Path, "other").Key, Path.Combine(_certs.Path, "site.key"), overwrite: true);
        await ProxUnderTest.EventuallyAsync(async () =>
                (await prox.StatusAsync()).GetProperty("tls").GetProperty("errors").GetArrayLength() > 0,
            TimeSpan.FromSeconds(15), "the broken files are tried and their errors shown");
        var errors = (await prox.StatusAsync()).GetProperty("tls").GetProperty("errors").EnumerateArray().ToList();
        Assert.Equal("prox.listen[0].tls.key", Assert.Single(errors).GetProperty("path").GetString());
        Assert.Equal(good.Thumbprint, (await GetAsync(prox, "site.test")).Cert.Thumbprint);

        TestCertificates.Replace(next, _certs.Path, "site");
        await ServedAsync(prox, "site.test", next, "the fixed files are loaded");
        Assert.Equal(0, (await prox.StatusAsync()).GetProperty("tls").GetProperty("errors").GetArrayLength());
    }

    [Fact]
    public async Task Reload_NewTlsCertificatesEntry_ServesItsHost()
    {
        var fallback = TestCertificates.Create(["default.test"]);
        var added = TestCertificates.Create(["new.test"]);
        var listen = $$"""listen = [ "127.0.0.1:0", { address = "127.0.0.1:0", tls { {{Files("default", fallback)}} } } ]""";
        await using var prox = await ProxUnderTest.StartFromFileAsync(listen + "\n" + Route);
        Assert.Equal(fallback.Thumbprint, (await GetAsync(prox, "new.test")).Cert.Thumbprint);

        var result = await prox.ReloadAsync($$"""
            {{listen}}
            tls.certificates = [ { hosts = ["new.test"], {{Files("new", added)}} } ]
            {{Route}}
            """);
        Assert.True(result.Ok, string.Join("; ", result.Errors));
        Assert.Equal(added.Thumbprint, (await GetAsync(prox, "new.test")).Cert.Thumbprint);
    }

    [Fact]
    public async Task Reload_NamingAnUnusableCertificate_IsRejectedWithThePath_TheRunningConfigStays()
    {
        var fallback = TestCertificates.Create(["default.test"]);
        var listen = $$"""listen = [ "127.0.0.1:0", { address = "127.0.0.1:0", tls { {{Files("default", fallback)}} } } ]""";
        await using var prox = await ProxUnderTest.StartFromFileAsync(listen + "\n" + Route);

        var result = await prox.ReloadAsync($$"""
            {{listen}}
            tls.certificates = [ { hosts = ["new.test"], certificate = "missing.crt", key = "missing.key" } ]
            {{Route}}
            """);
        Assert.False(result.Ok);
        Assert.Contains(result.Errors, e => e.StartsWith("prox.tls.certificates[0].certificate: cannot read the certificate file", StringComparison.Ordinal));
        Assert.Equal(fallback.Thumbprint, (await GetAsync(prox, "new.test")).Cert.Thumbprint);
    }

    [Fact]
    public async Task Status_ShowsEachCertificate_OneExpiringSoonRaisesAnEvent()
    {
        var soon = TestCertificates.Create(["soon.test"], notAfter: DateTimeOffset.UtcNow.AddDays(5));
        var later = TestCertificates.Create(["later.test"]);
        await using var prox = await ProxUnderTest.StartAsync($$"""
            listen = [ { address = "127.0.0.1:0", tls { {{Files("later", later)}} } } ]
            tls { min-version = "1.3", certificates = [ { hosts = ["soon.test"], {{Files("soon", soon)}} } ] }
            {{Route}}
            """);
        JsonElement status = default;
        await ProxUnderTest.EventuallyAsync(async () =>
        {
            status = await prox.StatusAsync();
            return status.GetProperty("events").EnumerateArray().Any(e => e.GetProperty("kind").GetString() == "certificate-expiring");
        }, TimeSpan.FromSeconds(10), "a certificate-expiring event");

        var tls = status.GetProperty("tls");
        Assert.Equal("1.3", tls.GetProperty("minVersion").GetString());
        var certs = tls.GetProperty("certificates").EnumerateArray().ToList();
        Assert.Equal(2, certs.Count);
        var soonView = certs.Single(c => c.GetProperty("source").GetString() == "prox.tls.certificates[0]");
        Assert.Equal(["soon.test"], soonView.GetProperty("hosts").EnumerateArray().Select(h => h.GetString()));
        Assert.InRange(soonView.GetProperty("daysLeft").GetDouble(), 4, 5.1);
        Assert.Equal(soon.NotAfter.ToUniversalTime(), soonView.GetProperty("notAfter").GetDateTimeOffset().UtcDateTime, TimeSpan.FromSeconds(1));
        Assert.Contains(certs, c => c.GetProperty("source").GetString() == "prox.listen[0].tls");
        var expiring = status.GetProperty("events").EnumerateArray().Where(e => e.GetProperty("kind").GetString() == "certificate-expiring").ToList();
        Assert.Single(expiring);
        Assert.Contains("CN=soon.test", expiring[0].GetProperty("detail").GetString());
    }

    [Fact]
    public async Task RedirectToHttps_308ToTheTlsListener_Hsts_OnlyOverTls()
    {
        var cert = TestCertificates.Create(["site.test"]);
        await using var prox = await ProxUnderTest.StartAsync($$"""
            listen = [ "127.0.0.1:0", { address = "127.0.0.1:0", tls { {{Files("site", cert)}} } } ]
            routes {
              secure { match.path-prefix = "/secure", redirect-to-https = true, hsts = "max-age=31536000;  includeSubDomains", backends = [ { url = "{{_backend.Url}}" } ] }
              hsts-only { match.path-prefix = "/hsts", hsts = "max-age=600", backends = [ { url = "{{_backend.Url}}" } ] }
              open { match.path-prefix = "/", backends = [ { url = "{{_backend.Url}}" } ] }
            }
            """);
        var tlsPort = TlsUrl(prox).Port;

        using var plain = await prox.Client.PostAsync("/secure/a/b?x=1&y=%20", new StringContent("body"));
        Assert.Equal(HttpStatusCode.PermanentRedirect, plain.StatusCode);
        Assert.Equal($"https://{prox.ProxyUrl.Host}:{tlsPort}/secure/a/b?x=1&y=%20", plain.Headers.Location!.OriginalString);
        Assert.False(plain.Headers.Contains("Strict-Transport-Security"));

        using var hstsPlain = await prox.Client.GetAsync("/hsts");
        Assert.Equal(HttpStatusCode.OK, hstsPlain.StatusCode);
        Assert.False(hstsPlain.Headers.Contains("Strict-Transport-Security"));
        Assert.Equal(HttpStatusCode.OK, (await prox.Client.GetAsync("/other")).StatusCode);

        var seen = new List<X509Certificate2>();
        using var tls = TestCertificates.Client(TlsUrl(prox), "site.test", seen);
        using var secure = await tls.GetAsync("/secure/a");
        Assert.Equal(HttpStatusCode.OK, secure.StatusCode);
        Assert.Equal("max-age=31536000; includeSubDomains", secure.Headers.GetValues("Strict-Transport-Security").Single());
        // Prox's own answers carry it too
        using var missing = await tls.SendAsync(new HttpRequestMessage(new HttpMethod("TRACK"), "/hsts"));
        Assert.Equal(HttpStatusCode.MethodNotAllowed, missing.StatusCode);
        Assert.Equal("max-age=600", missing.Headers.GetValues("Strict-Transport-Security").Single());
        using var open = await tls.GetAsync("/other");
        Assert.False(open.Headers.Contains("Strict-Transport-Security"));
    }

    [Fact]
    public void RedirectToHttps_WithoutATlsListener_IsAConfigError_BadHstsToo()
    {
        var result = ProxConfigParser.ParseText("""
            prox.routes.r { redirect-to-https = true, hsts = "includeSubDomains", backends = [ { url = "http://127.0.0.1:1" } ] }
            """, _ => null);
        Assert.Contains(result.Errors, e => e.ToString().StartsWith("prox.routes.r.redirect-to-https: needs a TLS listener", StringComparison.Ordinal));
        Assert.Contains(result.Errors, e => e.ToString().StartsWith("prox.routes.r.hsts: must be a Strict-Transport-Security value with max-age", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Tls13Only_RefusesATls12Client()
    {
        var cert = TestCertificates.Create(["v.test"]);
        await using var prox = await ProxUnderTest.StartAsync($$"""
            listen = [ { address = "127.0.0.1:0", tls { {{Files("v", cert)}} } } ]
            tls.min-version = "1.3"
            {{Route}}
            """);
        var seen = new List<X509Certificate2>();
        var handler = new SocketsHttpHandler
        {
            UseProxy = false,
            SslOptions = { EnabledSslProtocols = System.Security.Authentication.SslProtocols.Tls12, RemoteCertificateValidationCallback = (_, _, _, _) => true },
        };
        using var tls12 = new HttpClient(handler);
        await Assert.ThrowsAsync<HttpRequestException>(() => tls12.GetAsync(TlsUrl(prox)));
        Assert.Equal(HttpStatusCode.OK, (await TestCertificates.Client(TlsUrl(prox), "v.test", seen).GetAsync("/")).StatusCode);
    }
}
