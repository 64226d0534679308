using System.Buffers;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core.Features;

namespace Prox.Http.Tls;

/// <summary>
/// HTTP/1.1 and h2c with prior knowledge (RFC 9113 §3.3) on one cleartext listener. Kestrel serves such a listener
/// as HTTP/1.1 only ("ambiguous without ALPN"), so this connection middleware looks at the first bytes: a connection
/// that starts with the HTTP/2 preface is marked as having negotiated <c>h2</c>, which makes Kestrel run it as
/// HTTP/2; anything else goes on untouched as HTTP/1.1. Nothing is consumed. The marker claims no TLS handshake
/// (<see cref="ITlsHandshakeFeature"/> stays absent), and the stream's scheme is the client's <c>:scheme</c>
/// (<c>http</c>): Prox reads "is this TLS" from the handshake feature, never from the marker.
/// </summary>
public static class PriorKnowledge
{
    private static ReadOnlySpan<byte> Preface => "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8;

    public static ConnectionDelegate Detect(ConnectionDelegate next) => async connection =>
    {
        var input = connection.Transport.Input;
        while (true)
        {
            var read = await input.ReadAsync(connection.ConnectionClosed);
            var (matches, complete) = Compare(read.Buffer);
            if (matches && complete)
            {
                connection.Features.Set<ITlsConnectionFeature>(H2cMarker.Instance);
                connection.Features.Set<ITlsApplicationProtocolFeature>(H2cMarker.Instance);
            }
            if (!matches || complete || read.IsCompleted || read.IsCanceled)
            {
                input.AdvanceTo(read.Buffer.Start); // nothing consumed: Kestrel reads it all again
                break;
            }
            input.AdvanceTo(read.Buffer.Start, read.Buffer.End); // a prefix of the preface so far: wait for more
        }
        await next(connection);
    };

    /// <summary>Whether what arrived so far is (a prefix of) the preface, and whether all of the preface is there.</summary>
    private static (bool Matches, bool Complete) Compare(ReadOnlySequence<byte> buffer)
    {
        var n = (int)Math.Min(buffer.Length, Preface.Length);
        Span<byte> head = stackalloc byte[24];
        buffer.Slice(0, n).CopyTo(head);
        return (head[..n].SequenceEqual(Preface[..n]), n == Preface.Length);
    }

    /// <summary>What Kestrel asks when it picks the protocol: "negotiated" h2. Not a TLS handshake: no certificate,
    /// no <see cref="ITlsHandshakeFeature"/>.</summary>
    private sealed class H2cMarker : ITlsConnectionFeature, ITlsApplicationProtocolFeature
    {
        public static readonly H2cMarker Instance = new();

        public ReadOnlyMemory<byte> ApplicationProtocol { get; } = "h2"u8.ToArray();

        public X509Certificate2? ClientCertificate
        {
            get => null;
            set { }
        }

        public Task<X509Certificate2?> GetClientCertificateAsync(CancellationToken cancellationToken) => Task.FromResult<X509Certificate2?>(null);
    }
}
