using System.Collections.Immutable;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;
using Prox.Actors.Config;

namespace Prox.Http.Admin;

/// <summary>Who made an admin request: a configured token's name and role, or the open loopback plane.</summary>
public sealed record AdminCaller(string Name, AdminRole Role)
{
    /// <summary>The caller when no tokens are configured (the binder allows that only on loopback listeners).</summary>
    public static readonly AdminCaller AnonymousLoopback = new("anonymous-loopback", AdminRole.Write);
}

/// <summary>
/// Bearer-token checks for the admin plane. Only SHA-256 hashes are configured: the presented token is hashed
/// and compared with every configured hash in constant time, so neither timing nor an early exit tells an
/// attacker how close a guess was or which token it matched.
/// </summary>
public static class AdminAuth
{
    private const string Bearer = "Bearer ";

    /// <summary>The token's name and role when <paramref name="authorization"/> is <c>Bearer &lt;token&gt;</c> for a
    /// configured token; otherwise null.</summary>
    public static AdminCaller? Authenticate(string? authorization, ImmutableArray<AdminToken> tokens)
    {
        if (authorization is null || !authorization.StartsWith(Bearer, StringComparison.OrdinalIgnoreCase))
            return null;
        var presented = authorization.AsSpan(Bearer.Length).Trim();
        if (presented.IsEmpty || presented.Length > 512)
            return null;

        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        var utf8 = Encoding.UTF8.GetBytes(presented.ToString());
        SHA256.HashData(utf8, hash);
        AdminToken? match = null;
        foreach (var token in tokens)
        {
            // no early exit: every configured hash is compared
            if (CryptographicOperations.FixedTimeEquals(hash, token.Sha256.AsSpan()))
                match = token;
        }
        return match is null ? null : new AdminCaller(match.Name, match.Role);
    }

    /// <summary>GET and HEAD read; every other method changes something and needs <see cref="AdminRole.Write"/>.</summary>
    public static AdminRole RequiredRole(string method) =>
        HttpMethods.IsGet(method) || HttpMethods.IsHead(method) ? AdminRole.Read : AdminRole.Write;

    /// <summary>Write implies read.</summary>
    public static bool Allows(AdminRole granted, AdminRole required) => granted >= required;

    /// <summary>A new random 32-byte token (base64url, no padding) and the SHA-256 hex that goes into the config.</summary>
    public static (string Token, string Sha256Hex) NewToken()
    {
        var token = Base64Url(RandomNumberGenerator.GetBytes(32));
        return (token, HashHex(token));
    }

    /// <summary>Lower-case hex SHA-256 of the token's UTF-8 text: the value for <c>prox.admin.tokens[i].sha256</c>.</summary>
    public static string HashHex(string token) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(token)));

    private static string Base64Url(byte[] bytes) =>
        Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
