using Prox.Actors.Config;
using Xunit;

namespace Prox.Tests.Config;

/// <summary>Config texts with one route <c>api</c>, parsed end to end, for the binder tests of the route's blocks
/// (<c>breaker</c>, <c>dedup</c>, …) that live beside their capability.</summary>
internal static class ConfigTexts
{
    /// <summary>The one backend every route needs.</summary>
    public const string Backend = """backends = [{ url = "http://127.0.0.1:5001" }]""";

    /// <summary>A config with one route <c>api</c> whose body is <paramref name="route"/>.</summary>
    public static string WithRoute(string route) => $"prox {{\n routes {{\n  api {{\n{route}\n  }}\n }}\n}}\n";

    /// <summary>Parses with no environment variables set.</summary>
    public static ConfigParseResult Parse(string text) => ProxConfigParser.ParseText(text, _ => null);

    /// <summary>The only route of a valid config.</summary>
    public static RouteConfig SingleRoute(string text)
    {
        var result = Parse(text);
        Assert.True(result.IsValid, string.Join(Environment.NewLine, result.Errors));
        return Assert.Single(result.Config!.Routes);
    }

    /// <summary>The errors of an invalid config as <c>path: message</c>.</summary>
    public static string[] Errors(string text)
    {
        var result = Parse(text);
        Assert.False(result.IsValid);
        return result.Errors.Select(e => e.ToString()).ToArray();
    }
}
