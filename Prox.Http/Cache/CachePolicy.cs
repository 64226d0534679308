using System.Globalization;
using Microsoft.Extensions.Primitives;

namespace Prox.Http.Cache;

/// <summary>The <c>Cache-Control</c> directives a shared cache acts on (RFC 9111 §5.2, RFC 5861).</summary>
public readonly record struct CacheDirectives(
    bool NoStore,
    bool NoCache,
    bool Private,
    bool Public,
    bool MustRevalidate,
    TimeSpan? MaxAge,
    TimeSpan? SMaxAge,
    TimeSpan? StaleWhileRevalidate,
    TimeSpan? StaleIfError)
{
    /// <summary>Parses every <c>Cache-Control</c> field line. Qualified <c>private="x"</c> and <c>no-cache="x"</c> count as
    /// unqualified (the conservative reading); a malformed delta-seconds counts as 0 (RFC 9111 §4.2.1: stale).</summary>
    public static CacheDirectives Parse(StringValues values)
    {
        var d = default(CacheDirectives);
        foreach (var value in values)
        {
            if (string.IsNullOrEmpty(value)) continue;
            foreach (var range in value.AsSpan().Split(','))
            {
                var part = value.AsSpan()[range].Trim();
                if (part.IsEmpty) continue;
                var eq = part.IndexOf('=');
                var name = (eq < 0 ? part : part[..eq]).Trim();
                var arg = eq < 0 ? default : part[(eq + 1)..].Trim().Trim('"');
                if (Is(name, "no-store")) d = d with { NoStore = true };
                else if (Is(name, "no-cache")) d = d with { NoCache = true };
                else if (Is(name, "private")) d = d with { Private = true };
                else if (Is(name, "public")) d = d with { Public = true };
                else if (Is(name, "must-revalidate") || Is(name, "proxy-revalidate")) d = d with { MustRevalidate = true };
                else if (Is(name, "max-age")) d = d with { MaxAge = Seconds(arg) };
                else if (Is(name, "s-maxage")) d = d with { SMaxAge = Seconds(arg) };
                else if (Is(name, "stale-while-revalidate")) d = d with { StaleWhileRevalidate = Seconds(arg) };
                else if (Is(name, "stale-if-error")) d = d with { StaleIfError = Seconds(arg) };
            }
        }
        return d;
    }

    private static bool Is(ReadOnlySpan<char> a, string b) => a.Equals(b, StringComparison.OrdinalIgnoreCase);

    private static TimeSpan Seconds(ReadOnlySpan<char> arg) =>
        long.TryParse(arg, NumberStyles.None, CultureInfo.InvariantCulture, out var s)
            ? TimeSpan.FromSeconds(Math.Min(s, int.MaxValue)) // RFC 9111 §1.2.2: overflow means "very large"
            : TimeSpan.Zero;
}

/// <summary>How a stored response may be used at a given age.</summary>
public enum Freshness
{
    /// <summary>Within its freshness lifetime: served as a hit.</summary>
    Fresh,
    /// <summary>Expired but within stale-while-revalidate: served stale while one background request refreshes it.</summary>
    StaleWhileRevalidate,
    /// <summary>Expired; still usable if every backend fails (stale-if-error), otherwise a miss.</summary>
    StaleIfError,
    /// <summary>Too old for any use.</summary>
    Expired,
}

/// <summary>Why a response is not stored (<see cref="NotStorable.None"/>: it is).</summary>
public enum NotStorable
{
    None,
    Status,
    NoStore,
    Private,
    NoCache,
    Authorization,
    SetCookie,
    VaryStar,
    NoFreshness,
}

/// <summary>
/// RFC 9111 decisions of a shared cache, as pure functions of the response's fields, the route's settings and the
/// time: whether to store, for how long the response is fresh, how old a stored one is, whether a stale one may be
/// served, and whether a conditional request is answered 304.
/// </summary>
public static class CachePolicy
{
    /// <summary>Statuses RFC 9110 §15.1 calls heuristically cacheable: stored with the route's TTL when the response
    /// gives no freshness itself. Other final statuses are stored only with explicit freshness (and never 206, 304 or 5xx).</summary>
    public static bool IsHeuristicallyCacheable(int status) =>
        status is 200 or 203 or 204 or 300 or 301 or 308 or 404 or 405 or 410 or 414 or 501;

    /// <summary>RFC 5861 §4: the errors stale-if-error covers.</summary>
    public static bool IsErrorStatus(int status) => status is 500 or 502 or 503 or 504;

    /// <param name="requestHadAuthorization">RFC 9111 §3.5: a shared cache stores such a response only when it says
    /// <c>public</c>, <c>s-maxage</c> or <c>must-revalidate</c>.</param>
    /// <param name="hasSetCookie">Never stored (as nginx): one client's cookie must not reach another.</param>
    /// <param name="hasValidator">An <c>ETag</c> or <c>Last-Modified</c>: needed to store a <c>no-cache</c> response,
    /// which is revalidated before every use.</param>
    public static NotStorable Storable(int status, CacheDirectives cc, bool hasExpires, bool requestHadAuthorization,
        bool hasSetCookie, StringValues vary, bool hasValidator = false)
    {
        if (cc.NoStore) return NotStorable.NoStore;
        if (cc.Private) return NotStorable.Private;
        // without a validator every use would be a full fetch anyway
        if (cc.NoCache && !hasValidator) return NotStorable.NoCache;
        var explicitFreshness = cc.SMaxAge is not null || cc.MaxAge is not null || hasExpires;
        if (!IsHeuristicallyCacheable(status))
        {
            if (status is < 200 or 206 or 304 or >= 500) return NotStorable.Status;
            if (!explicitFreshness) return NotStorable.NoFreshness;
        }
        if (requestHadAuthorization && !cc.Public && cc.SMaxAge is null && !cc.MustRevalidate)
            return NotStorable.Authorization;
        if (hasSetCookie) return NotStorable.SetCookie;
        foreach (var v in vary)
            if (v is not null && v.Split(',').Any(n => n.Trim() == "*")) return NotStorable.VaryStar;
        return NotStorable.None;
    }

    /// <summary>RFC 9111 §4.2.1: <c>s-maxage</c>, else <c>max-age</c>, else <c>Expires</c> − <c>Date</c>, else the route's TTL.
    /// <c>no-cache</c>: zero, every use is revalidated (§5.2.2.4).</summary>
    public static TimeSpan FreshnessLifetime(CacheDirectives cc, DateTimeOffset? expires, DateTimeOffset? date,
        DateTimeOffset responseTime, TimeSpan routeTtl)
    {
        if (cc.NoCache) return TimeSpan.Zero;
        if (cc.SMaxAge is { } s) return s;
        if (cc.MaxAge is { } m) return m;
        if (expires is { } e)
        {
            var lifetime = e - (date ?? responseTime);
            return lifetime > TimeSpan.Zero ? lifetime : TimeSpan.Zero;
        }
        return routeTtl;
    }

    /// <summary>
    /// The response's age when stored: its <c>Age</c> header (set by caches upstream). The apparent age from
    /// <c>Date</c> is left out on purpose (as Varnish does): a backend's clock skew must not expire entries.
    /// RFC 9111 §5.1: of a list (<c>Age: 7200, 0</c>, or several field lines) the first member counts, so a later
    /// smaller one cannot make a stale response fresh; a first member that is not delta-seconds makes the field
    /// ignored; a number too large for the clock is "very large" (§1.2.2).
    /// </summary>
    public static TimeSpan InitialAge(StringValues ageHeader)
    {
        if (StringValues.IsNullOrEmpty(ageHeader)) return TimeSpan.Zero;
        var first = (ageHeader[0] ?? "").AsSpan();
        var comma = first.IndexOf(',');
        if (comma >= 0) first = first[..comma];
        first = first.Trim();
        if (first.IsEmpty) return TimeSpan.Zero;
        foreach (var c in first)
            if (!char.IsAsciiDigit(c)) return TimeSpan.Zero;
        return long.TryParse(first, NumberStyles.None, CultureInfo.InvariantCulture, out var s) && s <= int.MaxValue
            ? TimeSpan.FromSeconds(s)
            : TimeSpan.FromSeconds(int.MaxValue);
    }

    /// <summary>RFC 9111 §4.2.3: the initial age plus the time resident in the cache.</summary>
    public static TimeSpan CurrentAge(TimeSpan initialAge, DateTimeOffset storedAt, DateTimeOffset now) =>
        initialAge + (now > storedAt ? now - storedAt : TimeSpan.Zero);

    /// <summary>Where an entry of this age stands. <c>must-revalidate</c> forbids serving it stale at all (RFC 9111 §5.2.2.2).</summary>
    public static Freshness Classify(TimeSpan age, TimeSpan lifetime, TimeSpan staleWhileRevalidate, TimeSpan staleIfError,
        bool mustRevalidate)
    {
        if (age < lifetime) return Freshness.Fresh;
        if (mustRevalidate) return Freshness.Expired;
        var staleFor = age - lifetime;
        if (staleFor < staleWhileRevalidate) return Freshness.StaleWhileRevalidate;
        if (staleFor < staleIfError) return Freshness.StaleIfError;
        return Freshness.Expired;
    }

    /// <summary>
    /// RFC 9110 §13.1.2 and §13.2.2: <c>If-None-Match</c> (weak comparison, <c>*</c> matches) decides when present;
    /// otherwise <c>If-Modified-Since</c> against <c>Last-Modified</c>. True: answer 304 Not Modified.
    /// </summary>
    public static bool NotModified(StringValues ifNoneMatch, StringValues ifModifiedSince, string? etag, DateTimeOffset? lastModified)
    {
        if (!StringValues.IsNullOrEmpty(ifNoneMatch))
        {
            if (etag is null) return false;
            var ours = Opaque(etag);
            foreach (var value in ifNoneMatch)
            {
                if (value is null) continue;
                foreach (var tag in value.Split(','))
                {
                    var t = tag.Trim();
                    if (t == "*" || (t.Length > 0 && Opaque(t).SequenceEqual(ours))) return true;
                }
            }
            return false;
        }
        if (!StringValues.IsNullOrEmpty(ifModifiedSince) && lastModified is { } lm
            && TryParseDate(ifModifiedSince.ToString(), out var since))
            return lm <= since;
        return false;
    }

    /// <summary>The tag without its weakness indicator: weak comparison (RFC 9110 §8.8.3.2).</summary>
    private static ReadOnlySpan<char> Opaque(string tag) => tag.StartsWith("W/", StringComparison.Ordinal) ? tag.AsSpan(2) : tag;

    /// <summary>An HTTP-date (RFC 9110 §5.6.7, <see cref="HttpDate"/>); any other value counts as absent.</summary>
    public static bool TryParseDate(string? text, out DateTimeOffset date) => HttpDate.TryParse(text, out date);
}
