using Prox.Actors.Config;
using Xunit;
using static Prox.Tests.Config.ConfigTexts;

namespace Prox.Tests.Config;

/// <summary><c>passive.panic-threshold</c>: bound beside the other passive keys, validated and did-you-meant like them.</summary>
public sealed class PanicThresholdConfigTests
{
    private static RouteConfig Route(string route) => SingleRoute(WithRoute(route));

    private static string[] Errors(string route) => ConfigTexts.Errors(WithRoute(route));

    [Fact]
    public void Default_IsHalfTheBackends() => Assert.Equal(0.5, Route(Backend).Passive.PanicThreshold);

    public static TheoryData<string, double> Values => new()
    {
        { "25%", 0.25 },
        { "0%", 0 },
        { "100%", 1 },
        { "0.75", 0.75 },
    };

    [Theory]
    [MemberData(nameof(Values))]
    public void Percentage_OrFraction(string value, double expected) =>
        Assert.Equal(expected, Route($"{Backend}\npassive {{ panic-threshold = {value} }}").Passive.PanicThreshold, 6);

    [Fact]
    public void SetBesideTheOtherPassiveKeys_KeepsThem()
    {
        var passive = Route($"{Backend}\npassive {{ failures-to-eject = 3, eject-for = 2s, panic-threshold = 30% }}").Passive;
        Assert.Equal(3, passive.FailuresToEject);
        Assert.Equal(TimeSpan.FromSeconds(2), passive.EjectFor);
        Assert.Equal(0.3, passive.PanicThreshold, 6);
    }

    public static TheoryData<string, string> Invalid => new()
    {
        { "passive { panic-threshold = 150% }", "prox.routes.api.passive.panic-threshold: must be a percentage from 0% (off) to 100%, got '150%'" },
        { "passive { panic-threshold = -10% }", "prox.routes.api.passive.panic-threshold: must be a percentage from 0% (off) to 100%, got '-10%'" },
        { "passive { panic-threshold = half }", "prox.routes.api.passive.panic-threshold: must be a percentage from 0% (off) to 100%, got 'half'" },
        { "passive { panic-treshold = 10% }", "prox.routes.api.passive.panic-treshold: unknown key (did you mean 'panic-threshold'?)" },
    };

    [Theory]
    [MemberData(nameof(Invalid))]
    public void InvalidValue_NamesTheKey(string passive, string error) => Assert.Contains(error, Errors($"{Backend}\n{passive}"));

    [Fact]
    public void BreakerRoute_TakesTheThresholdAlone()
    {
        Assert.Equal(0, Route($"{Backend}\nbreaker {{}}\npassive {{ panic-threshold = 0% }}").Passive.PanicThreshold);
        Assert.Contains("prox.routes.api.passive: not used when the route has a breaker (the breaker replaces passive ejection); remove one of them",
            Errors($"{Backend}\nbreaker {{}}\npassive {{ panic-threshold = 0%, eject-for = 1s }}"));
    }
}
