using Microsoft.Extensions.Primitives;
using Prox.Http.Cache;
using Xunit;

namespace Prox.Tests.Cache;

/// <summary>The policy halves of issue 13 section 5: HTTP-date, Age, s-maxage with private, immutable.</summary>
public class Rfc9111PolicyTests
{
    [Theory]
    [InlineData("Sun, 06 Nov 1994 08:49:37 GMT", true)] // IMF-fixdate
    [InlineData("sun, 06 nov 1994 08:49:37 gmt", true)] // RFC 9111 §4.2: case-insensitive for a cache
    [InlineData("Sunday, 06-Nov-94 08:49:37 GMT", true)] // RFC 850
    [InlineData("Sun Nov  6 08:49:37 1994", true)] // asctime
    [InlineData("Sun, 06 Nov 1994 8:49:37 GMT", false)] // one-digit hour
    [InlineData("Sun, 6 Nov 1994 08:49:37 GMT", false)] // one-digit day
    [InlineData("Sun 06 Nov 1994 08:49:37 GMT", false)] // no comma
    [InlineData("Mon, 06 Nov 1994 08:49:37 GMT", false)] // wrong day name
    [InlineData("Sun, 06 Nov 1994 08:49:37 UTC", false)]
    [InlineData("Sun, 06 Nov 1994 08:49:37 +0000", false)]
    [InlineData("Sun, 06 Nov 1994 08.49.37 GMT", false)]
    [InlineData("Sun, 06-Nov-1994 08:49:37 GMT", false)] // dashes in IMF-fixdate
    [InlineData("1994-11-06T08:49:37Z", false)]
    [InlineData("0", false)]
    [InlineData("", false)]
    public void HttpDateTryParse_OnlyTheThreeFormats(string text, bool valid)
    {
        Assert.Equal(valid, HttpDate.TryParse(text, out var d));
        if (valid) Assert.Equal(new DateTimeOffset(1994, 11, 6, 8, 49, 37, TimeSpan.Zero), d);
    }

    [Theory]
    [InlineData(new[] { "60" }, 60)]
    [InlineData(new[] { "7200, 0" }, 7200)] // first member of a list
    [InlineData(new[] { "7200", "0" }, 7200)] // first of several field lines
    [InlineData(new[] { "0, 7200" }, 0)]
    [InlineData(new[] { "junk" }, 0)] // invalid: ignored
    [InlineData(new[] { "-5" }, 0)]
    [InlineData(new[] { "1.5" }, 0)]
    [InlineData(new[] { "99999999999999999999999" }, int.MaxValue)] // very large
    public void InitialAge_ListOrJunk_FirstMemberOrIgnored(string[] values, int seconds) =>
        Assert.Equal(TimeSpan.FromSeconds(seconds), CachePolicy.InitialAge(new StringValues(values)));

    [Fact]
    public void Storable_PrivateWithSMaxAge_Private() =>
        Assert.Equal(NotStorable.Private,
            CachePolicy.Storable(200, CacheDirectives.Parse("private, s-maxage=60"), false, false, false, default));

    [Fact]
    public void Classify_ImmutableStale_Expired()
    {
        var cc = CacheDirectives.Parse("max-age=10, immutable");
        var lifetime = CachePolicy.FreshnessLifetime(cc, null, null, DateTimeOffset.UnixEpoch, TimeSpan.FromMinutes(5));

        Assert.Equal(Freshness.Expired,
            CachePolicy.Classify(TimeSpan.FromSeconds(11), lifetime, TimeSpan.Zero, TimeSpan.Zero, mustRevalidate: false));
    }
}
