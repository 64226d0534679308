using System.Collections.Immutable;
using Prox.Actors.Config;
using Prox.Actors.Routing;
using Xunit;

namespace Prox.Tests.Routing;

public class RouteTableTests
{
    private static RouteTable Table(params (string Id, string Prefix, string[] Hosts)[] routes) =>
        new(routes.Select(r => (new RouteMatch(r.Prefix, r.Hosts.ToImmutableArray()), new RouteSlot(r.Id))));

    [Theory]
    [InlineData("/api", "/api", true)]
    [InlineData("/api", "/api/users", true)]
    [InlineData("/api", "/apix", false)]
    [InlineData("/api", "/ap", false)]
    [InlineData("/", "/anything", true)]
    [InlineData("/api/", "/api", true)]
    public void MatchesPrefix_WholeSegments(string prefix, string path, bool expected)
    {
        var table = Table(("r", prefix, []));
        Assert.Equal(expected, table.Match("h", path) is not null);
    }

    [Fact]
    public void Match_LongestPrefixWins()
    {
        var t = Table(("root", "/", []), ("api", "/api", []), ("v2", "/api/v2", []));
        Assert.Equal("v2", t.Match("x", "/api/v2/items")!.Value.Slot.RouteId);
        Assert.Equal("api", t.Match("x", "/api/v1")!.Value.Slot.RouteId);
        Assert.Equal("root", t.Match("x", "/other")!.Value.Slot.RouteId);
    }

    [Fact]
    public void Match_ExactHostBeatsWildcardBeatsAny()
    {
        var t = Table(("any", "/", []), ("wild", "/", ["*.example.com"]), ("exact", "/", ["api.example.com"]));
        Assert.Equal("exact", t.Match("API.example.com", "/")!.Value.Slot.RouteId);
        Assert.Equal("wild", t.Match("www.example.com", "/")!.Value.Slot.RouteId);
        Assert.Equal("any", t.Match("example.com", "/")!.Value.Slot.RouteId);
        Assert.True(t.Match("api.example.com", "/")!.Value.ByHost);
        Assert.False(t.Match("other.org", "/")!.Value.ByHost);
    }

    [Fact]
    public void Match_HostRoutesOnly_OtherHost_NoMatch()
    {
        var t = Table(("a", "/", ["a.test"]));
        Assert.Null(t.Match("b.test", "/"));
    }
}
