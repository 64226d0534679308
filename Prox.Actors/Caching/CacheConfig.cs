using System.Collections.Immutable;

namespace Prox.Actors.Caching;

/// <summary>
/// A route's response cache (<c>routes.&lt;r&gt;.cache</c>). The backend's <c>Cache-Control</c> wins over these
/// defaults: <see cref="Ttl"/> only applies to responses that give no freshness of their own.
/// </summary>
/// <param name="Enabled">Off: the route never looks up or stores anything (and pays nothing for the cache).</param>
/// <param name="Ttl">Freshness of a storable response without <c>s-maxage</c>, <c>max-age</c> or <c>Expires</c>.</param>
/// <param name="MaxEntryBytes">Largest body stored; larger responses are streamed and not stored.</param>
/// <param name="VaryBy">Request headers that are always part of the key, so their variants are stored side by side
/// (a backend's <c>Vary</c> is respected either way, but without this one variant replaces the other).</param>
/// <param name="StaleWhileRevalidate">How long after expiry a stale entry is served while one background request refreshes it.</param>
/// <param name="StaleIfError">How long after expiry a stale entry is served when every backend fails (500, 502, 503, 504, no backend).</param>
public sealed record CacheConfig(
    bool Enabled,
    TimeSpan Ttl,
    long MaxEntryBytes,
    ImmutableArray<string> VaryBy,
    TimeSpan StaleWhileRevalidate,
    TimeSpan StaleIfError)
{
    public static readonly CacheConfig Default = new(true, TimeSpan.FromMinutes(5), 1L << 20, [], TimeSpan.Zero, TimeSpan.Zero);
}

/// <summary>The process-wide cache settings (<c>prox.cache</c>); both apply on reload.</summary>
/// <param name="MaxMemoryBytes">Budget of every route's entries together (bodies, headers, keys); least recently used entries go first.</param>
/// <param name="BypassHeader">A request carrying this header skips the cache (<c>X-Cache: BYPASS</c>), but only from a
/// peer in <c>prox.trusted-proxies</c>; from anyone else it is ignored.</param>
public sealed record ProxCacheConfig(long MaxMemoryBytes, string BypassHeader)
{
    public static readonly ProxCacheConfig Default = new(256L << 20, "X-No-Cache");
}
