using Prox.Actors.Config;
using Xunit;

namespace Prox.Tests.Config;

/// <summary><c>passive.panic-threshold</c>: bound beside the other passive keys, validated and did-you-meant like them.</summary>
public sealed class PanicThresholdConfigTests
{
    private const string Backend = """backends = [{ url = "http://127.0.0.1:5001" }]""";

    private static string WithRoute(string route) => $"prox {{\n routes {{\n api {{\n{route}\n }}\n}}\n}}\n";

    private static ConfigParseResult Parse(string text) => ProxConfigParser.ParseText(text, _ => null);

    private static RouteConfig Route(string route)
    {
        var result = Parse(WithRoute(route));
        Assert.True(result.IsValid, string.Join(Environment.NewLine, result.Errors));
        return Assert.Single(result.Config!.Routes);
    }

    private static List<string> Errors(string route) => [.. Parse(WithRoute(route)).Errors.Select(e => e.ToString())];

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
