using Prox.Actors.Config;
using Xunit;

namespace Prox.Tests.ConfigHistory;

public class ConfigHistoryConfigBinderTests
{
    private static ConfigParseResult Parse(string history) =>
        ProxConfigParser.ParseText($$"""prox { routes.r.backends = [ { url = "http://a:1" } ], {{history}} }""");

    [Fact]
    public void Keep_Absent_Default100() => Assert.Equal(100, Parse("").Config!.ConfigHistory.Keep);

    [Fact]
    public void Keep_Three_Bound() => Assert.Equal(3, Parse("config-history.keep = 3").Config!.ConfigHistory.Keep);

    [Theory]
    [InlineData("config-history.keep = 0", "prox.config-history.keep: must be an integer from 1 to 10000, got '0'")]
    [InlineData("config-history.keep = lots", "prox.config-history.keep: must be an integer from 1 to 10000, got 'lots'")]
    [InlineData("config-history.kept = 3", "prox.config-history.kept: unknown key (did you mean 'keep'?)")]
    public void Keep_Invalid_ErrorWithPath(string history, string error) =>
        Assert.Equal([error], Parse(history).Errors.Select(e => e.ToString()));
}
