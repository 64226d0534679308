using Prox.Actors.Health;
using Xunit;

namespace Prox.Tests.Health;

public sealed class StatusRangeTests
{
    [Theory]
    [InlineData("200", 200, 200)]
    [InlineData("200-299", 200, 299)]
    [InlineData(" 301 - 302 ", 301, 302)]
    [InlineData("2xx", 200, 299)]
    [InlineData("5XX", 500, 599)]
    [InlineData("100", 100, 100)]
    [InlineData("599", 599, 599)]
    [InlineData("204-204", 204, 204)]
    public void TryParse_Valid_ReturnsRange(string text, int low, int high)
    {
        Assert.True(StatusRange.TryParse(text, out var r));
        Assert.Equal(new StatusRange(low, high), r);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("  ")]
    [InlineData("ok")]
    [InlineData("99")]
    [InlineData("600")]
    [InlineData("0200")]
    [InlineData("+200")]
    [InlineData("2x")]
    [InlineData("20x")]
    [InlineData("6xx")]
    [InlineData("0xx")]
    [InlineData("2xxx")]
    [InlineData("299-200")]
    [InlineData("200-")]
    [InlineData("-299")]
    [InlineData("200-299-300")]
    [InlineData("2xx-3xx")]
    public void TryParse_Invalid_ReturnsFalse(string? text) =>
        Assert.False(StatusRange.TryParse(text, out _));

    [Theory]
    [InlineData(200, true)]
    [InlineData(250, true)]
    [InlineData(299, true)]
    [InlineData(199, false)]
    [InlineData(300, false)]
    [InlineData(0, false)]
    public void Contains_Bounds_Inclusive(int status, bool expected) =>
        Assert.Equal(expected, new StatusRange(200, 299).Contains(status));

    [Theory]
    [InlineData("200")]
    [InlineData("200-299")]
    public void ToString_Parsed_RoundTrips(string text)
    {
        Assert.True(StatusRange.TryParse(text, out var r));
        Assert.Equal(text, r.ToString());
    }
}
