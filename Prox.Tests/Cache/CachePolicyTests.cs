using Microsoft.Extensions.Primitives;
using Prox.Http.Cache;
using Xunit;

namespace Prox.Tests.Cache;

public class CachePolicyTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    [Theory]
    [InlineData("max-age=60", false, false, false, false, 60, null)]
    [InlineData("public, s-maxage=30, max-age=10", false, false, false, true, 10, 30)]
    [InlineData("no-store", true, false, false, false, null, null)]
    [InlineData("NO-CACHE", false, true, false, false, null, null)]
    [InlineData("private=\"x\", max-age=5", false, false, true, false, 5, null)]
    [InlineData("max-age=\"7\"", false, false, false, false, 7, null)]
    [InlineData("max-age=abc", false, false, false, false, 0, null)]
    [InlineData("max-age=99999999999999", false, false, false, false, int.MaxValue, null)]
    [InlineData("", false, false, false, false, null, null)]
    public void Parse_Directives_AsRfc9111(string header, bool noStore, bool noCache, bool priv, bool pub, int? maxAge, int? sMaxAge)
    {
        var d = CacheDirectives.Parse(header);
        Assert.Equal(noStore, d.NoStore);
        Assert.Equal(noCache, d.NoCache);
        Assert.Equal(priv, d.Private);
        Assert.Equal(pub, d.Public);
        Assert.Equal(maxAge, (int?)d.MaxAge?.TotalSeconds);
        Assert.Equal(sMaxAge, (int?)d.SMaxAge?.TotalSeconds);
    }

    [Fact]
    public void Parse_StaleExtensionsAndMustRevalidate_Read()
    {
        var d = CacheDirectives.Parse(new StringValues(["max-age=1, stale-while-revalidate=30", "stale-if-error=300, proxy-revalidate"]));
        Assert.Equal(TimeSpan.FromSeconds(30), d.StaleWhileRevalidate);
        Assert.Equal(TimeSpan.FromSeconds(300), d.StaleIfError);
        Assert.True(d.MustRevalidate);
    }

    [Theory]
    [InlineData(200, "", false, false, false, "", NotStorable.None)]
    [InlineData(404, "", false, false, false, "", NotStorable.None)]
    [InlineData(410, "", false, false, false, "", NotStorable.None)]
    [InlineData(204, "", false, false, false, "", NotStorable.None)]
    [InlineData(301, "", false, false, false, "", NotStorable.None)]
    [InlineData(302, "", false, false, false, "", NotStorable.NoFreshness)]
    [InlineData(302, "max-age=60", false, false, false, "", NotStorable.None)]
    [InlineData(307, "", true, false, false, "", NotStorable.None)]
    [InlineData(206, "max-age=60", false, false, false, "", NotStorable.Status)]
    [InlineData(304, "max-age=60", false, false, false, "", NotStorable.Status)]
    [InlineData(500, "max-age=60", false, false, false, "", NotStorable.Status)]
    [InlineData(503, "", false, false, false, "", NotStorable.Status)]
    [InlineData(200, "no-store", false, false, false, "", NotStorable.NoStore)]
    [InlineData(200, "private", false, false, false, "", NotStorable.Private)]
    [InlineData(200, "no-cache", false, false, false, "", NotStorable.NoCache)] // no validator (the row's default)
    [InlineData(200, "max-age=60", false, true, false, "", NotStorable.Authorization)]
    [InlineData(200, "public", false, true, false, "", NotStorable.None)]
    [InlineData(200, "s-maxage=60", false, true, false, "", NotStorable.None)]
    [InlineData(200, "must-revalidate", false, true, false, "", NotStorable.None)]
    [InlineData(200, "", false, false, true, "", NotStorable.SetCookie)]
    [InlineData(200, "", false, false, false, "Accept-Encoding, *", NotStorable.VaryStar)]
    [InlineData(200, "", false, false, false, "Accept-Language", NotStorable.None)]
    public void Storable_SharedCacheRules(int status, string cc, bool hasExpires, bool auth, bool setCookie, string vary, NotStorable expected) =>
        Assert.Equal(expected, CachePolicy.Storable(status, CacheDirectives.Parse(cc), hasExpires, auth, setCookie,
            vary.Length == 0 ? StringValues.Empty : new StringValues(vary)));

    [Theory]
    [InlineData("no-cache", true, NotStorable.None)]
    [InlineData("no-cache", false, NotStorable.NoCache)]
    [InlineData("no-store", true, NotStorable.NoStore)]
    public void Storable_NoCache_StoredOnlyWithAValidator(string cc, bool hasValidator, NotStorable expected) =>
        Assert.Equal(expected, CachePolicy.Storable(200, CacheDirectives.Parse(cc), false, false, false, StringValues.Empty, hasValidator));

    [Theory]
    [InlineData("s-maxage=20, max-age=10", null, null, 300, 20)]
    [InlineData("max-age=10", 100, 0, 300, 10)]
    [InlineData("", 100, 40, 300, 60)]          // Expires − Date, skew-free
    [InlineData("", 100, null, 300, 100)]       // Expires − response time when no Date
    [InlineData("", -5, 0, 300, 0)]             // already expired
    [InlineData("public", null, null, 300, 300)] // the route's TTL
    [InlineData("max-age=0", null, null, 300, 0)]
    [InlineData("no-cache, max-age=60", null, null, 300, 0)]   // revalidated before every use
    public void FreshnessLifetime_BackendWinsOverRouteTtl(string cc, int? expiresIn, int? dateAt, int ttl, int expected)
    {
        DateTimeOffset? expires = expiresIn is { } e ? T0.AddSeconds(e) : null;
        DateTimeOffset? date = dateAt is { } d ? T0.AddSeconds(d) : null;
        var lifetime = CachePolicy.FreshnessLifetime(CacheDirectives.Parse(cc), expires, date, T0, TimeSpan.FromSeconds(ttl));
        Assert.Equal(TimeSpan.FromSeconds(expected), lifetime);
    }

    [Theory]
    [InlineData("", 0, 0)]
    [InlineData("12", 0, 12)]
    [InlineData("12", 30, 42)]
    [InlineData("junk", 5, 5)]
    public void CurrentAge_InitialAgePlusResidentTime(string ageHeader, int resident, int expected)
    {
        var initial = CachePolicy.InitialAge(ageHeader.Length == 0 ? StringValues.Empty : new StringValues(ageHeader));
        Assert.Equal(TimeSpan.FromSeconds(expected), CachePolicy.CurrentAge(initial, T0, T0.AddSeconds(resident)));
    }

    [Theory]
    [InlineData(0, 60, 0, 0, false, Freshness.Fresh)]
    [InlineData(59, 60, 0, 0, false, Freshness.Fresh)]
    [InlineData(60, 60, 0, 0, false, Freshness.Expired)]
    [InlineData(60, 60, 30, 0, false, Freshness.StaleWhileRevalidate)]
    [InlineData(89, 60, 30, 300, false, Freshness.StaleWhileRevalidate)]
    [InlineData(90, 60, 30, 300, false, Freshness.StaleIfError)]
    [InlineData(359, 60, 30, 300, false, Freshness.StaleIfError)]
    [InlineData(360, 60, 30, 300, false, Freshness.Expired)]
    [InlineData(61, 60, 30, 300, true, Freshness.Expired)]
    public void Classify_FreshStaleWindows(int age, int lifetime, int swr, int sie, bool mustRevalidate, Freshness expected) =>
        Assert.Equal(expected, CachePolicy.Classify(TimeSpan.FromSeconds(age), TimeSpan.FromSeconds(lifetime),
            TimeSpan.FromSeconds(swr), TimeSpan.FromSeconds(sie), mustRevalidate));

    [Theory]
    [InlineData("\"a\"", "", "\"a\"", null, true)]
    [InlineData("W/\"a\"", "", "\"a\"", null, true)]   // weak comparison
    [InlineData("\"b\", \"a\"", "", "W/\"a\"", null, true)]
    [InlineData("\"b\"", "", "\"a\"", null, false)]
    [InlineData("*", "", "\"a\"", null, true)]
    [InlineData("\"a\"", "", null, null, false)]
    [InlineData("", "Thu, 01 Jan 2026 00:00:10 GMT", null, 10, true)]
    [InlineData("", "Thu, 01 Jan 2026 00:00:10 GMT", null, 11, false)]
    [InlineData("", "not a date", null, 10, false)]
    [InlineData("\"b\"", "Thu, 01 Jan 2026 00:00:10 GMT", "\"a\"", 0, false)] // If-None-Match decides when present
    [InlineData("", "", "\"a\"", 0, false)]
    public void NotModified_ConditionalRequests(string ifNoneMatch, string ifModifiedSince, string? etag, int? lastModifiedAt, bool expected)
    {
        DateTimeOffset? lm = lastModifiedAt is { } s ? T0.AddSeconds(s) : null;
        Assert.Equal(expected, CachePolicy.NotModified(
            ifNoneMatch.Length == 0 ? StringValues.Empty : new StringValues(ifNoneMatch),
            ifModifiedSince.Length == 0 ? StringValues.Empty : new StringValues(ifModifiedSince), etag, lm));
    }
}
