using System.Collections.Immutable;
using System.Security.Authentication;

namespace Prox.Actors.Tls;

/// <summary>The HTTP versions a listener speaks. A TLS listener offers what it has by ALPN; a cleartext one with
/// <see cref="Http2"/> speaks h2c to clients that start with the HTTP/2 preface (prior knowledge).</summary>
[Flags]
public enum HttpProtocolSet
{
    Http1 = 1,
    Http2 = 2,
}

/// <summary>A listener's <c>tls { certificate, key }</c>: its default certificate, for clients that send no server name
/// or one no <c>prox.tls.certificates</c> entry has. Both null: the first entry of <c>prox.tls.certificates</c>.</summary>
/// <param name="Path">Where it is in the config (<c>prox.listen[1].tls</c>), for errors found when the files are read.</param>
public sealed record ListenerTls(string? Certificate, string? Key, string Path);

/// <summary>One <c>prox.tls.certificates</c> entry: a PEM certificate (chain) and key, chosen by SNI for its hosts.</summary>
/// <param name="Hosts">Exact names and <c>*.suffix</c> wildcards, lower-case.</param>
/// <param name="Path">Where it is in the config (<c>prox.tls.certificates[0]</c>).</param>
public sealed record TlsCertificateConfig(ImmutableArray<string> Hosts, string Certificate, string Key, string Path);

/// <summary><c>prox.tls</c>: the certificates chosen by SNI and the oldest TLS version accepted.</summary>
public sealed record TlsConfig(ImmutableArray<TlsCertificateConfig> Certificates, SslProtocols Protocols)
{
    public static readonly TlsConfig Default = new([], SslProtocols.Tls12 | SslProtocols.Tls13);

    /// <summary>The <c>min-version</c> as written: <c>1.2</c> or <c>1.3</c>.</summary>
    public string MinVersion => Protocols.HasFlag(SslProtocols.Tls12) ? "1.2" : "1.3";
}

/// <summary><c>prox.limits.http2</c>: Kestrel's HTTP/2 limits for client connections (its defaults unless set).</summary>
public sealed record Http2LimitsConfig(
    int MaxStreamsPerConnection,
    int HeaderTableSize,
    int MaxFrameSize,
    int MaxRequestHeaderFieldSize,
    int InitialConnectionWindowSize,
    int InitialStreamWindowSize)
{
    public static readonly Http2LimitsConfig Default = new(100, 4096, 16 * 1024, 16 * 1024, 1024 * 1024, 768 * 1024);
}
