using System.Security.Cryptography;
using System.Text;

namespace Prox.Actors.Webhooks;

/// <summary>The <c>X-Prox-Signature</c> header: <c>sha256=</c> + lowercase hex HMAC-SHA256(secret, exact body bytes).</summary>
public static class WebhookSignature
{
    public const string Header = "X-Prox-Signature";
    private const string Prefix = "sha256=";

    public static string Sign(string secret, ReadOnlySpan<byte> body) =>
        Prefix + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), body));

    /// <summary>What a receiver does: recompute and compare in constant time.</summary>
    public static bool Verify(string secret, ReadOnlySpan<byte> body, string? header) =>
        header is not null
        && CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(Sign(secret, body)), Encoding.ASCII.GetBytes(header));
}
