using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Prox.Tests.Tls;

/// <summary>Self-signed certificates written as PEM files (certificate, PKCS#8 key) for TLS tests.</summary>
internal static class TestCertificates
{
    /// <summary>A self-signed certificate for <paramref name="names"/> (the first is the subject CN); ECDSA P-256
    /// unless <paramref name="rsa"/>.</summary>
    public static X509Certificate2 Create(string[] names, DateTimeOffset? notBefore = null, DateTimeOffset? notAfter = null, bool rsa = false)
    {
        var san = new SubjectAlternativeNameBuilder();
        foreach (var n in names) san.AddDnsName(n);
        var subject = new X500DistinguishedName("CN=" + names[0]);
        CertificateRequest request;
        if (rsa)
            request = new CertificateRequest(subject, RSA.Create(2048), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        else
            request = new CertificateRequest(subject, ECDsa.Create(ECCurve.NamedCurves.nistP256), HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        return request.CreateSelfSigned(notBefore ?? DateTimeOffset.UtcNow.AddDays(-1), notAfter ?? DateTimeOffset.UtcNow.AddDays(90));
    }

    /// <summary>Writes <paramref name="cert"/> to <c>dir/name.crt</c> and its key to <c>dir/name.key</c>.</summary>
    public static (string Certificate, string Key) Write(X509Certificate2 cert, string dir, string name)
    {
        var crt = Path.Combine(dir, name + ".crt");
        var key = Path.Combine(dir, name + ".key");
        File.WriteAllText(crt, cert.ExportCertificatePem());
        AsymmetricAlgorithm k = (AsymmetricAlgorithm?)cert.GetECDsaPrivateKey() ?? cert.GetRSAPrivateKey()!;
        File.WriteAllText(key, k.ExportPkcs8PrivateKeyPem());
        return (crt, key);
    }

    /// <summary>Replaces the files of <paramref name="name"/> the way a deploy does: written aside, then renamed over.</summary>
    public static void Replace(X509Certificate2 cert, string dir, string name)
    {
        var tmp = Directory.CreateTempSubdirectory("prox-cert-").FullName;
        var (crt, key) = Write(cert, tmp, name);
        File.Move(key, Path.Combine(dir, name + ".key"), overwrite: true);
        File.Move(crt, Path.Combine(dir, name + ".crt"), overwrite: true);
        Directory.Delete(tmp, recursive: true);
    }

    /// <summary>An HTTP client that connects to <paramref name="proxy"/> whatever the URL says, sends
    /// <paramref name="serverName"/> as SNI (null: none), trusts any certificate and records the ones it saw.</summary>
    public static HttpClient Client(Uri proxy, string? serverName, List<X509Certificate2> seen, Version? version = null) =>
        new(Handler(proxy, serverName, seen))
        {
            BaseAddress = new Uri($"https://{serverName ?? proxy.Host}:{proxy.Port}"),
            DefaultRequestVersion = version ?? System.Net.HttpVersion.Version11,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Timeout = TimeSpan.FromSeconds(10),
        };

    /// <summary>The handler of <see cref="Client"/>: connects to <paramref name="proxy"/>, sends <paramref name="serverName"/>
    /// as SNI, trusts and records any certificate.</summary>
    public static SocketsHttpHandler Handler(Uri proxy, string? serverName, List<X509Certificate2> seen) =>
        new SocketsHttpHandler
        {
            UseProxy = false,
            ConnectCallback = async (_, ct) =>
            {
                var s = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp) { NoDelay = true };
                await s.ConnectAsync(proxy.Host, proxy.Port, ct);
                return new System.Net.Sockets.NetworkStream(s, ownsSocket: true);
            },
            SslOptions =
            {
                TargetHost = serverName ?? "",
                RemoteCertificateValidationCallback = (_, cert, _, _) =>
                {
                    lock (seen) seen.Add(new X509Certificate2(cert!));
                    return true;
                },
            },
        };
}
