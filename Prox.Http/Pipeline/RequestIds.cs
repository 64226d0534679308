using Microsoft.AspNetCore.Http;

namespace Prox.Http.Pipeline;

/// <summary>X-Request-Id: accepted from trusted proxies when well-formed, otherwise generated.</summary>
public static class RequestIds
{
    public const string Header = "X-Request-Id";
    private const int MaxLength = 128;

    public static string Resolve(HttpRequest request, bool fromTrustedPeer)
    {
        if (fromTrustedPeer && request.Headers.TryGetValue(Header, out var given) && given.Count == 1
            && IsWellFormed(given[0]))
            return given[0]!;
        return New();
    }

    public static bool IsWellFormed(string? id)
    {
        if (string.IsNullOrEmpty(id) || id.Length > MaxLength) return false;
        foreach (var c in id)
            if (c is < '!' or > '~') return false; // visible ASCII only: no spaces, no control characters
        return true;
    }

    /// <summary>32 lowercase hex characters (128 random bits).</summary>
    public static string New() => string.Create(32, 0, static (span, _) =>
    {
        Span<byte> bytes = stackalloc byte[16];
        Random.Shared.NextBytes(bytes);
        Convert.TryToHexStringLower(bytes, span, out _);
    });
}
