using Prox.Actors.Config;
using Prox.Actors.Health;
using Prox.Actors.Hocon;
using Xunit;

namespace Prox.Tests.Health;

/// <summary>The <c>health { … }</c> block on routes and backends: binding, key-by-key merging and validation.</summary>
public sealed class HealthConfigBinderTests
{
    private const string Backend = """backends = [{ url = "http://127.0.0.1:5001" }]""";

    private static string ProxBlock(string body) => $"prox {{\n{body}\n}}\n";

    /// <summary>A config with one route <c>api</c> whose body is <paramref name="route"/>.</summary>
    private static string WithRoute(string route) => ProxBlock($"routes {{\n api {{\n{route}\n }}\n}}");

    /// <summary>Route <c>api</c> with one backend and the given route-level health block body.</summary>
    private static string WithHealth(string health) => WithRoute($"{Backend}\nhealth {{ {health} }}");

    /// <summary>Route <c>api</c> without a route health block and one backend with the given health block body.</summary>
    private static string WithBackendHealth(string health) =>
        WithRoute($"backends = [{{ url = \"http://127.0.0.1:5001\", health {{ {health} }} }}]");

    private static ConfigParseResult Parse(string text) => ProxConfigParser.ParseText(text, _ => null);

    private static ProxConfig AssertValid(ConfigParseResult result)
    {
        Assert.True(result.IsValid, string.Join(Environment.NewLine, result.Errors));
        return result.Config!;
    }

    private static RouteConfig SingleRoute(string text) => Assert.Single(AssertValid(Parse(text)).Routes);

    // ---- binding ----

    [Fact]
    public void ParseText_RouteHealthBlock_BindsEveryField()
    {
        var route = SingleRoute(WithHealth("""
            path = "/status", interval = 15s, timeout = 3s, jitter = 20%
            expect { status = ["200", "300-302", "4xx"], body-contains = "ok" }
            healthy-after = 4, unhealthy-after = 5
            unhealthy-interval = 1s, max-unhealthy-interval = 30s
            history = 500
            """));

        var expected = HealthConfig.Default with
        {
            Path = "/status",
            Interval = TimeSpan.FromSeconds(15),
            Timeout = TimeSpan.FromSeconds(3),
            Jitter = 0.20,
            Expect = new HealthExpectation([new StatusRange(200, 200), new StatusRange(300, 302), new StatusRange(400, 499)], "ok"),
            HealthyAfter = 4,
            UnhealthyAfter = 5,
            UnhealthyInterval = TimeSpan.FromSeconds(1),
            MaxUnhealthyInterval = TimeSpan.FromSeconds(30),
            History = 500,
        };
        Assert.Equal(expected, route.Health);
        Assert.Equal(expected, Assert.Single(route.Backends).Health);
    }

    [Fact]
    public void ParseText_RouteHealthBlock_MissingKeysKeepDefaults()
    {
        var route = SingleRoute(WithHealth("path = \"/ready\", unhealthy-after = 7"));

        Assert.Equal(HealthConfig.Default with { Path = "/ready", UnhealthyAfter = 7 }, route.Health);
    }

    [Theory]
    [InlineData("health {}")]
    [InlineData("health = {}")]
    [InlineData("health { expect {} }")]
    public void ParseText_EmptyHealthBlock_TurnsChecksOnWithDefaults(string block)
    {
        var route = SingleRoute(WithRoute($"{Backend}\n{block}"));

        Assert.Equal(HealthConfig.Default, route.Health);
        Assert.Equal(HealthConfig.Default, Assert.Single(route.Backends).Health);
    }

    [Fact]
    public void ParseText_NoHealthBlockAnywhere_LeavesHealthNull()
    {
        var route = SingleRoute(WithRoute("backends = [{ url = \"http://127.0.0.1:5001\" }, { url = \"http://127.0.0.1:5002\" }]"));

        Assert.Null(route.Health);
        Assert.All(route.Backends, b => Assert.Null(b.Health));
    }

    [Fact]
    public void ParseText_BackendHealthBlock_OverridesRouteKeyByKey()
    {
        var route = SingleRoute(WithRoute("""
            health {
              path = "/health", interval = 20s, timeout = 5s, healthy-after = 3
              expect { status = ["200"], body-contains = "up" }
            }
            backends = [
              { id = "a", url = "http://127.0.0.1:5001", health { path = "/ready", timeout = 1s, expect { body-contains = "ready" } } }
              { id = "b", url = "http://127.0.0.1:5002", health { expect { status = "2xx", body-contains = "" } } }
              { id = "c", url = "http://127.0.0.1:5003" }
            ]
            """));

        var routeHealth = HealthConfig.Default with
        {
            Path = "/health",
            Interval = TimeSpan.FromSeconds(20),
            Timeout = TimeSpan.FromSeconds(5),
            HealthyAfter = 3,
            Expect = new HealthExpectation([new StatusRange(200, 200)], "up"),
        };
        Assert.Equal(routeHealth, route.Health);
        Assert.Equal(
            routeHealth with
            {
                Path = "/ready",
                Timeout = TimeSpan.FromSeconds(1),
                Expect = new HealthExpectation([new StatusRange(200, 200)], "ready"),
            },
            route.Backends[0].Health);
        Assert.Equal(routeHealth with { Expect = new HealthExpectation([StatusRange.Success]) }, route.Backends[1].Health);
        Assert.Same(route.Health, route.Backends[2].Health);
    }

    [Fact]
    public void ParseText_BackendHealthBlockWithoutRouteBlock_OverridesDefaults()
    {
        var route = SingleRoute(WithRoute("""
            backends = [
              { url = "http://127.0.0.1:5001", health { path = "/ready", history = 10 } }
              { url = "http://127.0.0.1:5002" }
              { url = "http://127.0.0.1:5003", health {} }
            ]
            """));

        Assert.Null(route.Health);
        Assert.Equal(HealthConfig.Default with { Path = "/ready", History = 10 }, route.Backends[0].Health);
        Assert.Null(route.Backends[1].Health);
        Assert.Equal(HealthConfig.Default, route.Backends[2].Health);
    }

    [Fact]
    public void ParseText_BackendOverride_CanMakeMergedIntervalsValid()
    {
        // the route's interval alone would clash with a longer timeout; the check runs on the merged values
        var route = SingleRoute(WithRoute("""
            health { interval = 3s }
            backends = [{ url = "http://127.0.0.1:5001", health { interval = 30s, timeout = 10s } }]
            """));

        Assert.Equal(TimeSpan.FromSeconds(3), route.Health!.Interval);
        Assert.Equal(TimeSpan.FromSeconds(10), route.Backends[0].Health!.Timeout);
    }

    [Theory]
    [InlineData("10%", 0.10)]
    [InlineData("\"10%\"", 0.10)]
    [InlineData("\"12.5 %\"", 0.125)]
    [InlineData("0.1", 0.10)]
    [InlineData("0.25", 0.25)]
    [InlineData("0", 0.0)]
    [InlineData("0%", 0.0)]
    [InlineData("50%", 0.50)]
    [InlineData("0.5", 0.50)]
    public void ParseText_Jitter_AcceptsPercentagesAndFractions(string jitter, double expected)
    {
        var route = SingleRoute(WithHealth($"jitter = {jitter}"));

        Assert.Equal(expected, route.Health!.Jitter, 10);
    }

    [Theory]
    [InlineData("\"200\"", 200, 200)]
    [InlineData("200", 200, 200)]
    [InlineData("\"200-299\"", 200, 299)]
    [InlineData("\"2xx\"", 200, 299)]
    [InlineData("[\"5XX\"]", 500, 599)]
    public void ParseText_ExpectStatus_AcceptsCodesRangesAndClasses(string status, int low, int high)
    {
        var route = SingleRoute(WithHealth($"expect {{ status = {status} }}"));

        Assert.Equal(new HealthExpectation([new StatusRange(low, high)]), route.Health!.Expect);
    }

    [Fact]
    public void ParseText_ExpectBodyContains_IsTrimmedAndKeepsDefaultStatuses()
    {
        var route = SingleRoute(WithHealth("expect { body-contains = \" ok \" }"));

        Assert.Equal("ok", route.Health!.Expect.BodyContains);
        Assert.Equal<StatusRange>([StatusRange.Success], route.Health.Expect.Statuses);
    }

    // ---- validation ----

    public static TheoryData<string, string, string> InvalidConfigs() => new()
    {
        // unknown keys
        { WithHealth("intervl = 5s"), "prox.routes.api.health.intervl", "unknown key (did you mean 'interval'?)" },
        { WithHealth("frobnicate = 1"), "prox.routes.api.health.frobnicate", "unknown key" },
        { WithHealth("expect { stauts = [\"200\"] }"), "prox.routes.api.health.expect.stauts", "unknown key (did you mean 'status'?)" },
        { WithBackendHealth("pth = \"/x\""), "prox.routes.api.backends[0].health.pth", "unknown key (did you mean 'path'?)" },
        { WithRoute($"{Backend}\nhelth {{ }}"), "prox.routes.api.helth", "unknown key (did you mean 'health'?)" },
        // wrong types
        { WithRoute($"{Backend}\nhealth = true"), "prox.routes.api.health", "expected an object { … }, got 'true'" },
        { WithHealth("expect = \"200\""), "prox.routes.api.health.expect", "expected an object { … }, got '200'" },
        { WithHealth("path = [\"/a\"]"), "prox.routes.api.health.path", "expected a path such as /health, got a list" },
        { WithHealth("expect { body-contains = [\"ok\"] }"), "prox.routes.api.health.expect.body-contains", "expected a string, got a list" },
        // path
        { WithHealth("path = \"health\""), "prox.routes.api.health.path", "must start with '/', got 'health'" },
        { WithBackendHealth("path = \"ready\""), "prox.routes.api.backends[0].health.path", "must start with '/', got 'ready'" },
        { WithHealth("path = \"/a b\""), "prox.routes.api.health.path", "must be a plain path without spaces or '#'" },
        // durations
        { WithHealth("interval = 0s"), "prox.routes.api.health.interval", "must be greater than 0" },
        { WithHealth("timeout = 0s"), "prox.routes.api.health.timeout", "must be greater than 0" },
        { WithHealth("unhealthy-interval = 0ms"), "prox.routes.api.health.unhealthy-interval", "must be greater than 0" },
        { WithHealth("max-unhealthy-interval = -1s"), "prox.routes.api.health.max-unhealthy-interval", "must not be negative" },
        { WithHealth("interval = 10"), "prox.routes.api.health.interval", "'10' has no unit (use e.g. 500ms, 2s, 1m or 10 seconds)" },
        { WithBackendHealth("timeout = 0s"), "prox.routes.api.backends[0].health.timeout", "must be greater than 0" },
        // timeout < interval
        { WithHealth("timeout = 10s"), "prox.routes.api.health.timeout", "timeout (00:00:10) must be less than interval (00:00:10)" },
        { WithHealth("interval = 1s"), "prox.routes.api.health.interval", "timeout (00:00:02) must be less than interval (00:00:01)" },
        { WithHealth("interval = 5s, timeout = 6s"), "prox.routes.api.health.timeout", "timeout (00:00:06) must be less than interval (00:00:05)" },
        { WithBackendHealth("timeout = 30s"), "prox.routes.api.backends[0].health.timeout", "timeout (00:00:30) must be less than interval (00:00:10)" },
        {
            WithRoute("health { timeout = 4s }\nbackends = [{ url = \"http://127.0.0.1:5001\", health { interval = 3s } }]"),
            "prox.routes.api.backends[0].health.interval", "timeout (00:00:04) must be less than interval (00:00:03)"
        },
        // max-unhealthy-interval >= unhealthy-interval
        {
            WithHealth("unhealthy-interval = 10s, max-unhealthy-interval = 5s"), "prox.routes.api.health.max-unhealthy-interval",
            "max-unhealthy-interval (00:00:05) must not be less than unhealthy-interval (00:00:10)"
        },
        {
            WithHealth("unhealthy-interval = 2m"), "prox.routes.api.health.unhealthy-interval",
            "max-unhealthy-interval (00:01:00) must not be less than unhealthy-interval (00:02:00)"
        },
        {
            WithBackendHealth("max-unhealthy-interval = 1s"), "prox.routes.api.backends[0].health.max-unhealthy-interval",
            "max-unhealthy-interval (00:00:01) must not be less than unhealthy-interval (00:00:02)"
        },
        // thresholds and history
        { WithHealth("healthy-after = 0"), "prox.routes.api.health.healthy-after", "must be an integer from 1 to 100, got '0'" },
        { WithHealth("healthy-after = 101"), "prox.routes.api.health.healthy-after", "must be an integer from 1 to 100, got '101'" },
        { WithHealth("unhealthy-after = 0"), "prox.routes.api.health.unhealthy-after", "must be an integer from 1 to 100, got '0'" },
        { WithBackendHealth("unhealthy-after = 1000"), "prox.routes.api.backends[0].health.unhealthy-after", "must be an integer from 1 to 100, got '1000'" },
        { WithHealth("history = 0"), "prox.routes.api.health.history", "must be an integer from 1 to 10000, got '0'" },
        { WithHealth("history = 10001"), "prox.routes.api.health.history", "must be an integer from 1 to 10000, got '10001'" },
        { WithHealth("history = lots"), "prox.routes.api.health.history", "must be an integer from 1 to 10000, got 'lots'" },
        // jitter
        { WithHealth("jitter = 51%"), "prox.routes.api.health.jitter", "must be a percentage from 0% to 50% or a fraction from 0 to 0.5 (e.g. 10% or 0.1), got '51%'" },
        { WithHealth("jitter = 0.6"), "prox.routes.api.health.jitter", "must be a percentage from 0% to 50% or a fraction from 0 to 0.5 (e.g. 10% or 0.1), got '0.6'" },
        { WithHealth("jitter = 10"), "prox.routes.api.health.jitter", "must be a percentage from 0% to 50% or a fraction from 0 to 0.5 (e.g. 10% or 0.1), got '10'" },
        { WithHealth("jitter = \"-5%\""), "prox.routes.api.health.jitter", "must be a percentage from 0% to 50% or a fraction from 0 to 0.5 (e.g. 10% or 0.1), got '-5%'" },
        { WithHealth("jitter = some"), "prox.routes.api.health.jitter", "must be a percentage from 0% to 50% or a fraction from 0 to 0.5 (e.g. 10% or 0.1), got 'some'" },
        // expect.status
        { WithHealth("expect { status = [] }"), "prox.routes.api.health.expect.status", "must list at least one status, e.g. [\"200-299\"]" },
        {
            WithHealth("expect { status = [\"200\", \"2000\"] }"), "prox.routes.api.health.expect.status[1]",
            "'2000' is not a status (use a code such as \"200\", a range such as \"200-299\", or \"2xx\"; codes 100-599)"
        },
        {
            WithHealth("expect { status = \"299-200\" }"), "prox.routes.api.health.expect.status",
            "'299-200' is not a status (use a code such as \"200\", a range such as \"200-299\", or \"2xx\"; codes 100-599)"
        },
        {
            WithBackendHealth("expect { status = [\"6xx\"] }"), "prox.routes.api.backends[0].health.expect.status[0]",
            "'6xx' is not a status (use a code such as \"200\", a range such as \"200-299\", or \"2xx\"; codes 100-599)"
        },
        { WithHealth("expect { status = [[\"200\"]] }"), "prox.routes.api.health.expect.status[0]", "expected a status such as \"200\", \"200-299\" or \"2xx\", got a list" },
    };

    [Theory]
    [MemberData(nameof(InvalidConfigs))]
    public void ParseText_InvalidHealth_ReportsPathAndMessage(string text, string path, string message)
    {
        var result = Parse(text);

        Assert.False(result.IsValid);
        Assert.Null(result.Config);
        Assert.Equal(new ConfigError(path, message), Assert.Single(result.Errors));
    }

    [Fact]
    public void ParseText_SeveralHealthErrors_ReportsAllOfThemOnce()
    {
        var result = Parse(WithRoute("""
            health {
              path = "nope", interval = 0s, timeout = 1m, jitter = 90%
              expect { status = ["teapot"], body = "x" }
              healthy-after = 0, unhealthy-after = 101, history = 0
              unhealthy-interval = 10s, max-unhealthy-interval = 1s
            }
            backends = [
              { url = "http://127.0.0.1:5001" }
              { url = "http://127.0.0.1:5002", health { path = "x", histroy = 5 } }
            ]
            """));

        Assert.Null(result.Config);
        Assert.Equal(
            [
                "prox.routes.api.health.path",
                "prox.routes.api.health.interval",
                "prox.routes.api.health.max-unhealthy-interval",
                "prox.routes.api.health.jitter",
                "prox.routes.api.health.expect.body",
                "prox.routes.api.health.expect.status[0]",
                "prox.routes.api.health.healthy-after",
                "prox.routes.api.health.unhealthy-after",
                "prox.routes.api.health.history",
                "prox.routes.api.backends[1].health.histroy",
                "prox.routes.api.backends[1].health.path",
            ],
            result.Errors.Select(e => e.Path));
    }

    // ---- shipped configs ----

    [Fact]
    public void ParseFile_FullExample_HasRouteHealthAndBackendOverride()
    {
        var config = AssertValid(ProxConfigParser.ParseFile(Path.Combine(RepoRoot(), "config", "examples", "full.conf")));

        var api = config.Routes.Single(r => r.Id == "api");
        Assert.NotNull(api.Health);
        Assert.Equal(api.Health, api.Backends.Single(b => b.Id == "api-1").Health);
        var overridden = api.Backends.Single(b => b.Id == "api-2").Health;
        Assert.NotNull(overridden);
        Assert.NotEqual(api.Health, overridden);
        Assert.All(config.Routes.Single(r => r.Id == "static").Backends, b => Assert.Null(b.Health));
    }

    [Fact]
    public void ParseFile_DefaultConfig_HasNoActiveChecks()
    {
        var config = AssertValid(ProxConfigParser.ParseFile(Path.Combine(RepoRoot(), "config", "prox.conf")));

        var route = Assert.Single(config.Routes);
        Assert.Null(route.Health);
        Assert.All(route.Backends, b => Assert.Null(b.Health));
    }

    private static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Prox.Akka.sln")))
                return dir.FullName;
        }
        throw new InvalidOperationException("Prox.Akka.sln not found above " + AppContext.BaseDirectory);
    }
}
