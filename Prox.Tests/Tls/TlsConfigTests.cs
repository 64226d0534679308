using System.Security.Authentication;
using Prox.Actors.Config;
using Prox.Actors.Tls;
using Prox.Http.Tls;
using Prox.Tests.Infrastructure;
using Xunit;

namespace Prox.Tests.Tls;

/// <summary>Binding of TLS listeners, <c>prox.tls</c> and <c>prox.limits.http2</c>, and the checks of the PEM files
/// (what <c>prox validate</c> and start-up report), each error with its path.</summary>
public sealed class TlsConfigTests : IDisposable
{
    private readonly TempDataDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private static ConfigParseResult Parse(string prox) => ProxConfigParser.ParseText($$"""
        prox {
          {{prox}}
          routes.r { match.path-prefix = "/", backends = [ { url = "http://127.0.0.1:5001" } ] }
        }
        """, _ => null);

    private static ProxConfig Valid(string prox)
    {
        var result = Parse(prox);
        Assert.True(result.IsValid, string.Join("\n", result.Errors));
        return result.Config!;
    }

    private static string[] Errors(string prox) => [.. Parse(prox).Errors.Select(e => e.ToString())];

    [Fact]
    public void Listeners_StringsAndObjects_WithTlsAndProtocols()
    {
        var cfg = Valid("""
            listen = [
              "127.0.0.1:8080",
              { address = "0.0.0.0:8443", tls { certificate = "certs/site.crt", key = "certs/site.key" } },
              { address = "127.0.0.1:8081", protocols = [http1, http2] },
              { address = "127.0.0.1:8082", protocols = http2 },
              { address = "127.0.0.1:8444", protocols = [http1], tls { certificate = "a.crt", key = "a.key" } }
            ]
            """);
        Assert.Equal(5, cfg.Listen.Length);
        Assert.Null(cfg.Listen[0].Tls);
        Assert.Equal(HttpProtocolSet.Http1, cfg.Listen[0].Protocols);
        Assert.Equal(new ListenerTls("certs/site.crt", "certs/site.key", "prox.listen[1].tls"), cfg.Listen[1].Tls);
        Assert.Equal(HttpProtocolSet.Http1 | HttpProtocolSet.Http2, cfg.Listen[1].Protocols);
        Assert.Equal(HttpProtocolSet.Http1 | HttpProtocolSet.Http2, cfg.Listen[2].Protocols);
        Assert.Equal(HttpProtocolSet.Http2, cfg.Listen[3].Protocols);
        Assert.Equal(HttpProtocolSet.Http1, cfg.Listen[4].Protocols);
        Assert.Equal("0.0.0.0:8443", cfg.Listen[1].ToString());
    }

    [Fact]
    public void Tls_CertificatesAndMinVersion()
    {
        var cfg = Valid("""
            tls {
              min-version = "1.3"
              certificates = [ { hosts = ["API.example.com", "*.example.com"], certificate = "c.pem", key = "k.pem" } ]
            }
            """);
        Assert.Equal(SslProtocols.Tls13, cfg.Tls.Protocols);
        Assert.Equal("1.3", cfg.Tls.MinVersion);
        var entry = Assert.Single(cfg.Tls.Certificates);
        Assert.Equal(["api.example.com", "*.example.com"], entry.Hosts.ToArray());
        Assert.Equal("prox.tls.certificates[0]", entry.Path);
        Assert.Equal(SslProtocols.Tls12 | SslProtocols.Tls13, Valid("").Tls.Protocols);
    }

    [Fact]
    public void Http2Limits_DefaultsAreKestrels_SetOnesBind()
    {
        Assert.Equal(Http2LimitsConfig.Default, Valid("").Limits.Http2);
        var h2 = Valid("limits.http2 { max-streams-per-connection = 250, initial-connection-window-size = 2MiB, max-frame-size = 32KiB }").Limits.Http2;
        Assert.Equal(250, h2.MaxStreamsPerConnection);
        Assert.Equal(2 * 1024 * 1024, h2.InitialConnectionWindowSize);
        Assert.Equal(32 * 1024, h2.MaxFrameSize);
        Assert.Equal(Http2LimitsConfig.Default.HeaderTableSize, h2.HeaderTableSize);
    }

    [Fact]
    public void InvalidTlsAndListeners_EveryErrorWithItsPath()
    {
        var errors = Errors("""
            listen = [
              { address = "0.0.0.0:8443", tls { certificate = "only-cert.pem" } },
              { address = "127.0.0.1:8081", protocols = [http3] },
              { address = "127.0.0.1:8082", protocols = [spdy] },
              { tls {} },
              { address = "127.0.0.1:8083", tls {} }
            ]
            tls {
              min-version = "1.1"
              certificates = [
                { hosts = ["a.example.com", "bad host"], certificate = "a.pem", key = "a.key" }
                { hosts = ["A.example.com"], certificate = "b.pem" }
                { certificate = "c.pem", key = "c.key", sni = true }
              ]
            }
            limits.http2 { max-frame-size = 1KiB, max-streams-per-connection = 0 }
            """);
        Assert.Contains(errors, e => e.StartsWith("prox.listen[0].tls: give both certificate and key", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("prox.listen[1].protocols[0]: HTTP/3 is not supported", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("prox.listen[2].protocols[0]: unknown protocol 'spdy'", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("prox.listen[3].address: missing", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("prox.tls.min-version: must be 1.2 or 1.3", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("prox.tls.certificates[0].hosts[1]:", StringComparison.Ordinal));
        Assert.Contains(errors, e => e == "prox.tls.certificates[1].hosts[0]: 'a.example.com' is already served by prox.tls.certificates[0]");
        Assert.Contains(errors, e => e.StartsWith("prox.tls.certificates[1].key: missing", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("prox.tls.certificates[2].hosts: must list the host names", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("prox.tls.certificates[2].sni: unknown key", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("prox.limits.http2.max-frame-size: must be a size from 16384", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("prox.limits.http2.max-streams-per-connection:", StringComparison.Ordinal));
    }

    [Fact]
    public void TlsListenerWithoutAnyCertificate_IsAnError()
    {
        Assert.Contains("prox.listen[0].tls: needs a certificate and key (PEM files) here or in prox.tls.certificates",
            Errors("""listen = [ { address = "127.0.0.1:8443", tls {} } ]"""));
    }

    [Fact]
    public void SamePortTwice_IsAnError_PortZeroIsNot()
    {
        Assert.Contains(Errors("""listen = [ "127.0.0.1:8080", { address = "127.0.0.1:8080", tls { certificate = "a", key = "b" } } ]"""),
            e => e == "prox.listen[1]: duplicate address 127.0.0.1:8080");
        Valid("""listen = [ "127.0.0.1:0", { address = "127.0.0.1:0", protocols = [http2] } ]""");
    }

    // ---- the files ----

    private ProxConfig WithFiles(string cert, string key) => Valid($$"""
        listen = [ { address = "127.0.0.1:8443", tls { certificate = "{{cert}}", key = "{{key}}" } } ]
        """);

    [Fact]
    public void Files_RelativeToTheConfigFolder_GoodOnesPass()
    {
        var (crt, key) = TestCertificates.Write(TestCertificates.Create(["ok.test"]), _dir.Path, "ok");
        Assert.Empty(CertificateFiles.Check(WithFiles(Path.GetFileName(crt), Path.GetFileName(key)), _dir.Path, DateTimeOffset.UtcNow));
        var rsa = TestCertificates.Write(TestCertificates.Create(["rsa.test"], rsa: true), _dir.Path, "rsa");
        Assert.Empty(CertificateFiles.Check(WithFiles(rsa.Certificate, rsa.Key), "/nowhere", DateTimeOffset.UtcNow));
    }

    [Fact]
    public void Files_Missing_NotPem_WrongKey_Expired_NotYetValid_EachWithItsPath()
    {
        var now = DateTimeOffset.UtcNow;
        var good = TestCertificates.Write(TestCertificates.Create(["good.test"]), _dir.Path, "good");
        var other = TestCertificates.Write(TestCertificates.Create(["other.test"]), _dir.Path, "other");
        var expired = TestCertificates.Write(TestCertificates.Create(["old.test"], now.AddDays(-30), now.AddDays(-1)), _dir.Path, "old");
        var future = TestCertificates.Write(TestCertificates.Create(["new.test"], now.AddDays(1), now.AddDays(30)), _dir.Path, "new");
        File.WriteAllText(Path.Combine(_dir.Path, "junk.pem"), "not a certificate");

        string[] Check(string cert, string key) =>
            [.. CertificateFiles.Check(WithFiles(cert, key), _dir.Path, now).Select(e => e.ToString())];

        var missing = Check("absent.crt", "absent.key");
        Assert.Equal(2, missing.Length);
        Assert.StartsWith("prox.listen[0].tls.certificate: cannot read the certificate file", missing[0]);
        Assert.EndsWith("absent.crt': file not found", missing[0]);
        Assert.StartsWith("prox.listen[0].tls.key: cannot read the key file", missing[1]);

        Assert.StartsWith("prox.listen[0].tls.certificate: 'junk.pem' holds no PEM certificate", Assert.Single(Check("junk.pem", good.Key)));
        Assert.StartsWith("prox.listen[0].tls.key: 'junk.pem' holds no PEM private key", Assert.Single(Check(good.Certificate, "junk.pem")));
        Assert.StartsWith("prox.listen[0].tls.key: the key in", Assert.Single(Check(good.Certificate, other.Key)));
        Assert.Contains("does not belong to the certificate", Check(good.Certificate, other.Key)[0]);
        Assert.Contains("(CN=old.test) expired on", Assert.Single(Check(expired.Certificate, expired.Key)));
        Assert.Contains("(CN=new.test) is not valid before", Assert.Single(Check(future.Certificate, future.Key)));
    }

    [Fact]
    public void Files_OfTlsCertificatesEntries_AreCheckedToo()
    {
        var cfg = Valid("""tls.certificates = [ { hosts = ["a.test"], certificate = "nope.crt", key = "nope.key" } ]""");
        var errors = CertificateFiles.Check(cfg, _dir.Path, DateTimeOffset.UtcNow);
        Assert.Equal(["prox.tls.certificates[0].certificate", "prox.tls.certificates[0].key"], errors.Select(e => e.Path));
    }

    [Fact]
    public async Task StartUp_WithAnUnusableCertificate_FailsWithEveryError()
    {
        var text = ProxUnderTest.ConfigText("""
            listen = [ { address = "127.0.0.1:0", tls { certificate = "/nonexistent/site.crt", key = "/nonexistent/site.key" } } ]
            routes.r { match.path-prefix = "/", backends = [ { url = "http://127.0.0.1:5001" } ] }
            """ + "\npersistence.data-dir = \"" + Path.Combine(_dir.Path, "data") + "\"");
        var parsed = ProxConfigParser.ParseText(text);
        Assert.True(parsed.IsValid, string.Join("\n", parsed.Errors));
        await using var host = Prox.Hosting.ProxHost.Create(parsed.Config!, Serilog.Events.LogEventLevel.Fatal);
        var e = await Assert.ThrowsAsync<Prox.Hosting.ProxStartupException>(() => host.StartAsync());
        Assert.Contains("prox.listen[0].tls.certificate: cannot read the certificate file", e.Message);
        Assert.Contains("prox.listen[0].tls.key: cannot read the key file", e.Message);
    }
}
