using System.Net;
using System.Text;
using Prox.Actors.Config;
using Prox.Actors.Hocon;
using Xunit;

namespace Prox.Tests.Config;

public sealed class ProxConfigParserTests
{
    private const string Backend = """backends = [{ url = "http://127.0.0.1:5001" }]""";

    private static readonly Func<string, string?> NoEnvironment = _ => null;

    private static string ProxBlock(string body) => $"prox {{\n{body}\n}}\n";

    /// <summary>A config with one route <c>api</c> whose body is <paramref name="route"/>, plus extra prox-level keys.</summary>
    private static string WithRoute(string route, string proxExtra = "") =>
        ProxBlock($"{proxExtra}\nroutes {{\n api {{\n{route}\n }}\n}}");

    private static ConfigParseResult Parse(string text, params (string Name, string Value)[] environment) =>
        ProxConfigParser.ParseText(text, name => environment.FirstOrDefault(e => e.Name == name).Value);

    private static ProxConfig AssertValid(ConfigParseResult result)
    {
        Assert.True(result.IsValid, string.Join(Environment.NewLine, result.Errors));
        return result.Config!;
    }

    private static void AssertNoInternalError(ConfigParseResult result) =>
        Assert.DoesNotContain(result.Errors, e => e.Message.Contains("internal error", StringComparison.Ordinal));

    private static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Prox.Akka.sln")))
                return dir.FullName;
        }
        throw new InvalidOperationException("Prox.Akka.sln not found above " + AppContext.BaseDirectory);
    }

    // ---- binding ----

    [Theory]
    [InlineData("", false)]
    [InlineData("admin.chaos = on", true)]
    [InlineData("admin { listen = \"127.0.0.1:9901\", chaos = true }", true)]
    [InlineData("admin.chaos = off", false)]
    public void ParseText_AdminChaos_OffUnlessSwitchedOn(string extra, bool expected) =>
        Assert.Equal(expected, AssertValid(Parse(WithRoute(Backend, extra))).Admin.Chaos);

    [Fact]
    public void ParseText_FullConfig_BindsEveryField()
    {
        const string text = """
            prox {
              listen = ["127.0.0.1:8080", "[::1]:8081", "*:8082", "localhost:0"]
              admin.listen = "127.0.0.1:9902"
              trusted-proxies = ["10.0.0.0/8", "127.0.0.1", "fd00::/8"]
              limits { max-request-body = 10MB }
              routes {
                api {
                  match { path-prefix = "/api", hosts = ["API.example.com", "*.example.com"] }
                  strip-prefix = true
                  load-balancing = weighted-round-robin
                  backends = [
                    { url = "http://127.0.0.1:5001", weight = 3 }
                    { id = "second", url = "https://backend.internal:8443/base", weight = 1, timeout = 5s }
                  ]
                  timeouts { connect = 1s, request = 10s }
                  retries { attempts = 3, backoff = 100ms, max-backoff = 2s, on = [connect-failure, 503], non-idempotent = true }
                  passive { failures-to-eject = 3, eject-for = 5s, max-eject-for = 2m }
                  backend-header = true
                  preserve-host = false
                  allow-trace = true
                }
              }
            }
            akka { loglevel = DEBUG }
            """;

        var config = AssertValid(Parse(text));

        Assert.Equal<ListenAddress>(
            [new ListenAddress("127.0.0.1", 8080), new ListenAddress("::1", 8081), new ListenAddress("*", 8082), new ListenAddress("localhost", 0)],
            config.Listen);
        Assert.Equal<ListenAddress>([new ListenAddress("127.0.0.1", 9902)], config.Admin.Listen);
        Assert.Equal<IPNetwork>(
            [IPNetwork.Parse("10.0.0.0/8"), IPNetwork.Parse("127.0.0.1/32"), IPNetwork.Parse("fd00::/8")],
            config.TrustedProxies);
        Assert.Equal(10_000_000, config.Limits.MaxRequestBodyBytes);
        Assert.Equal(text, config.SourceText);

        var route = Assert.Single(config.Routes);
        Assert.Equal("api", route.Id);
        Assert.Equal("/api", route.Match.PathPrefix);
        Assert.Equal<string>(["api.example.com", "*.example.com"], route.Match.Hosts);
        Assert.True(route.StripPrefix);
        Assert.Equal(LoadBalancingPolicy.WeightedRoundRobin, route.LoadBalancing);
        Assert.Equal<BackendConfig>(
            [
                new BackendConfig("127.0.0.1:5001", new Uri("http://127.0.0.1:5001"), 3, null),
                new BackendConfig("second", new Uri("https://backend.internal:8443/base"), 1, TimeSpan.FromSeconds(5)),
            ],
            route.Backends);
        Assert.Equal(new TimeoutsConfig(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(10)), route.Timeouts);
        Assert.Equal(3, route.Retries.Attempts);
        Assert.Equal(TimeSpan.FromMilliseconds(100), route.Retries.Backoff);
        Assert.Equal(TimeSpan.FromSeconds(2), route.Retries.MaxBackoff);
        Assert.Equal(RetryConditions.ConnectFailure, route.Retries.On);
        Assert.Equal<int>([503], route.Retries.OnStatuses);
        Assert.True(route.Retries.NonIdempotent);
        Assert.Equal(new PassiveConfig(3, TimeSpan.FromSeconds(5), TimeSpan.FromMinutes(2)), route.Passive);
        Assert.True(route.BackendHeader);
        Assert.False(route.PreserveHost);
        Assert.True(route.AllowTrace);
    }

    [Fact]
    public void ParseText_MinimalConfig_AppliesDefaults()
    {
        var config = AssertValid(Parse(WithRoute(Backend)));

        Assert.Equal<ListenAddress>(ProxConfig.DefaultListen, config.Listen);
        Assert.Equal<ListenAddress>([new ListenAddress("127.0.0.1", 9901)], config.Admin.Listen);
        Assert.Empty(config.TrustedProxies);
        Assert.Equal(LimitsConfig.Default, config.Limits);
        Assert.Equal(1L << 30, config.Limits.MaxRequestBodyBytes);

        var route = Assert.Single(config.Routes);
        Assert.Equal("/", route.Match.PathPrefix);
        Assert.Empty(route.Match.Hosts);
        Assert.False(route.StripPrefix);
        Assert.Equal(LoadBalancingPolicy.RoundRobin, route.LoadBalancing);
        var backend = Assert.Single(route.Backends);
        Assert.Equal(1, backend.Weight);
        Assert.Null(backend.Timeout);
        Assert.Equal(TimeoutsConfig.Default, route.Timeouts);
        Assert.Equal(RetryConfig.Default.Attempts, route.Retries.Attempts);
        Assert.Equal(RetryConfig.Default.On, route.Retries.On);
        Assert.Equal<int>(RetryConfig.Default.OnStatuses, route.Retries.OnStatuses);
        Assert.Equal(PassiveConfig.Default, route.Passive);
        Assert.False(route.BackendHeader);
        Assert.True(route.PreserveHost);
        Assert.False(route.AllowTrace);
    }

    [Fact]
    public void ParseText_PartialSections_KeepDefaultsForOmittedKeys()
    {
        var config = AssertValid(Parse(WithRoute($"{Backend}\ntimeouts {{ connect = 3s }}\nretries {{ attempts = 0 }}\npassive {{ eject-for = 1s }}")));

        var route = Assert.Single(config.Routes);
        Assert.Equal(new TimeoutsConfig(TimeSpan.FromSeconds(3), TimeoutsConfig.Default.Request), route.Timeouts);
        Assert.Equal(0, route.Retries.Attempts);
        Assert.Equal(RetryConfig.Default.Backoff, route.Retries.Backoff);
        Assert.Equal(new PassiveConfig(PassiveConfig.Default.FailuresToEject, TimeSpan.FromSeconds(1), PassiveConfig.Default.MaxEjectFor), route.Passive);
    }

    [Fact]
    public void ParseText_Json_BindsLikeHocon()
    {
        const string json = """
            {
              "prox": {
                "listen": ["0.0.0.0:8080"],
                "limits": { "max-request-body": 1048576 },
                "routes": {
                  "api": {
                    "match": { "path-prefix": "/api", "hosts": null },
                    "strip-prefix": true,
                    "load-balancing": "least-connections",
                    "backends": [ { "url": "http://10.0.0.5:80", "weight": 2, "timeout": "750ms" } ],
                    "retries": { "attempts": 1, "on": ["timeout", 502] }
                  }
                }
              }
            }
            """;

        var config = AssertValid(Parse(json));

        Assert.Equal<ListenAddress>([new ListenAddress("0.0.0.0", 8080)], config.Listen);
        Assert.Equal(1_048_576, config.Limits.MaxRequestBodyBytes);
        var route = Assert.Single(config.Routes);
        Assert.Equal("/api", route.Match.PathPrefix);
        Assert.Empty(route.Match.Hosts);
        Assert.True(route.StripPrefix);
        Assert.Equal(LoadBalancingPolicy.LeastConnections, route.LoadBalancing);
        Assert.Equal(new BackendConfig("10.0.0.5:80", new Uri("http://10.0.0.5:80"), 2, TimeSpan.FromMilliseconds(750)), Assert.Single(route.Backends));
        Assert.Equal(RetryConditions.Timeout, route.Retries.On);
        Assert.Equal<int>([502], route.Retries.OnStatuses);
    }

    [Theory]
    [InlineData("/api/", "/api")]
    [InlineData("/api//", "/api")]
    [InlineData("/", "/")]
    [InlineData("//", "/")]
    [InlineData("/a/b", "/a/b")]
    public void ParseText_PathPrefix_DropsTrailingSlashes(string prefix, string expected)
    {
        var config = AssertValid(Parse(WithRoute($"match {{ path-prefix = \"{prefix}\" }}\n{Backend}")));

        Assert.Equal(expected, Assert.Single(config.Routes).Match.PathPrefix);
    }

    [Theory]
    [InlineData("50ms", 50)]
    [InlineData("2s", 2_000)]
    [InlineData("1m", 60_000)]
    [InlineData("10 seconds", 10_000)]
    [InlineData("1.5s", 1_500)]
    [InlineData("2 minutes", 120_000)]
    [InlineData("1h", 3_600_000)]
    [InlineData("1d", 86_400_000)]
    [InlineData("500 millis", 500)]
    [InlineData("\"3s\"", 3_000)]
    [InlineData("250000us", 250)]
    public void ParseText_Duration_Parses(string duration, int expectedMs)
    {
        var config = AssertValid(Parse(WithRoute($"{Backend}\ntimeouts {{ connect = {duration} }}")));

        Assert.Equal(TimeSpan.FromMilliseconds(expectedMs), Assert.Single(config.Routes).Timeouts.Connect);
    }

    [Theory]
    [InlineData("1GB", 1_000_000_000L)]
    [InlineData("10KB", 10_000L)]
    [InlineData("10kB", 10_000L)]
    [InlineData("10MB", 10_000_000L)]
    [InlineData("1GiB", 1L << 30)]
    [InlineData("10KiB", 10_240L)]
    [InlineData("10 MiB", 10L << 20)]
    [InlineData("10k", 10_240L)]
    [InlineData("10m", 10L << 20)]
    [InlineData("1g", 1L << 30)]
    [InlineData("123", 123L)]
    [InlineData("1024b", 1_024L)]
    [InlineData("0", null)]
    [InlineData("unlimited", null)]
    [InlineData("\"unlimited\"", null)]
    public void ParseText_MaxRequestBody_ParsesSize(string size, long? expected)
    {
        var config = AssertValid(Parse(WithRoute(Backend, $"limits {{ max-request-body = {size} }}")));

        Assert.Equal(expected, config.Limits.MaxRequestBodyBytes);
    }

    [Theory]
    [InlineData("round-robin", LoadBalancingPolicy.RoundRobin)]
    [InlineData("weighted-round-robin", LoadBalancingPolicy.WeightedRoundRobin)]
    [InlineData("random", LoadBalancingPolicy.Random)]
    [InlineData("weighted-random", LoadBalancingPolicy.WeightedRandom)]
    [InlineData("least-connections", LoadBalancingPolicy.LeastConnections)]
    [InlineData("least-latency", LoadBalancingPolicy.LeastLatency)]
    public void ParseText_LoadBalancing_MapsEveryPolicy(string name, LoadBalancingPolicy expected)
    {
        var config = AssertValid(Parse(WithRoute($"load-balancing = {name}\n{Backend}")));

        Assert.Equal(expected, Assert.Single(config.Routes).LoadBalancing);
    }

    [Theory]
    [InlineData("http://127.0.0.1:5001", "127.0.0.1:5001")]
    [InlineData("http://Backend.Local", "backend.local:80")]
    [InlineData("https://backend.local/", "backend.local:443")]
    [InlineData("http://[::1]:5001/x", "[::1]:5001")]
    public void ParseText_BackendWithoutId_UsesHostAndPort(string url, string expectedId)
    {
        var config = AssertValid(Parse(WithRoute($"backends = [{{ url = \"{url}\" }}]")));

        Assert.Equal(expectedId, Assert.Single(Assert.Single(config.Routes).Backends).Id);
    }

    [Fact]
    public void ParseText_RoutesWithDistinctMatches_AreAccepted()
    {
        const string routes = """
            a { match { path-prefix = "/api" }, backends = [{ url = "http://127.0.0.1:1" }] }
            b { match { path-prefix = "/api", hosts = ["x.example.com"] }, backends = [{ url = "http://127.0.0.1:2" }] }
            c { match { path-prefix = "/api", hosts = ["*.example.com"] }, backends = [{ url = "http://127.0.0.1:3" }] }
            d { match { path-prefix = "/apix" }, backends = [{ url = "http://127.0.0.1:4" }] }
            """;

        var config = AssertValid(Parse(ProxBlock($"routes {{\n{routes}\n}}")));

        Assert.Equal(["a", "b", "c", "d"], config.Routes.Select(r => r.Id));
    }

    // ---- environment substitution ----

    [Fact]
    public void ParseText_ProcessEnvironmentVariableSet_OverridesField()
    {
        var name = "PROX_TEST_" + Guid.NewGuid().ToString("N");
        Environment.SetEnvironmentVariable(name, "0.0.0.0:9000");
        try
        {
            var config = AssertValid(ProxConfigParser.ParseText(WithRoute(Backend, $"listen = \"127.0.0.1:8080\"\nlisten = ${{?{name}}}")));

            Assert.Equal<ListenAddress>([new ListenAddress("0.0.0.0", 9000)], config.Listen);
        }
        finally
        {
            Environment.SetEnvironmentVariable(name, null);
        }
    }

    [Fact]
    public void ParseText_OptionalVariableUnset_KeepsEarlierValue()
    {
        var text = WithRoute(Backend, "listen = \"127.0.0.1:8080\"\nlisten = ${?PROX_LISTEN}${?PROX_LISTEN2}\nadmin { listen = \"127.0.0.1:9000\", listen = ${?PROX_ADMIN} }");

        var config = AssertValid(Parse(text));

        Assert.Equal<ListenAddress>([new ListenAddress("127.0.0.1", 8080)], config.Listen);
        Assert.Equal<ListenAddress>([new ListenAddress("127.0.0.1", 9000)], config.Admin.Listen);
    }

    [Fact]
    public void ParseText_OptionalVariableInList_AddsOrDropsElement()
    {
        var text = WithRoute(Backend, "trusted-proxies = [\"10.0.0.0/8\", ${?PROX_A}, ${?PROX_B}]");

        var config = AssertValid(Parse(text, ("PROX_B", "192.168.0.0/16")));

        Assert.Equal<IPNetwork>([IPNetwork.Parse("10.0.0.0/8"), IPNetwork.Parse("192.168.0.0/16")], config.TrustedProxies);
    }

    [Theory]
    [InlineData("9000", "127.0.0.1:9000")]
    [InlineData(null, "127.0.0.1:")]
    public void ParseText_VariableInConcatenation_JoinsText(string? port, string expectedText)
    {
        var environment = port is null ? [] : new[] { ("PROX_PORT", port) };
        var result = Parse(WithRoute(Backend, "listen = \"127.0.0.1:\"${?PROX_PORT}"), environment);

        if (port is null)
            Assert.Contains(result.Errors, e => e.Path == "prox.listen" && e.Message.Contains($"'{expectedText}'", StringComparison.Ordinal));
        else
            Assert.Equal(expectedText, AssertValid(result).Listen.Single().ToString());
    }

    [Fact]
    public void ParseText_VariableValueWithHoconSyntax_IsTakenLiterally()
    {
        var config = AssertValid(Parse(WithRoute("backends = [{ url = \"http://127.0.0.1:5001\", id = ${ID} }]"), ("ID", "a\"b}${x}#c")));

        Assert.Equal("a\"b}${x}#c", Assert.Single(Assert.Single(config.Routes).Backends).Id);
    }

    [Fact]
    public void ParseText_VariableSet_ResolvedTextCarriesValue()
    {
        var result = Parse(WithRoute(Backend) + "akka { loglevel = ${?LOG_LEVEL} }", ("LOG_LEVEL", "WARNING"));

        AssertValid(result);
        Assert.Contains("loglevel = \"WARNING\"", result.ResolvedText);
    }

    [Fact]
    public void ParseText_RequiredVariableUnset_ReportsFieldPath()
    {
        var result = Parse(WithRoute("backends = [{ url = ${BACKEND_URL} }]") + "akka { loglevel = ${LOG_LEVEL} }");

        Assert.False(result.IsValid);
        Assert.Equal<ConfigError>(
            [
                new ConfigError("akka.loglevel", "environment variable LOG_LEVEL is not set (use ${?LOG_LEVEL} to make it optional)"),
                new ConfigError("prox.routes.api.backends[0].url", "environment variable BACKEND_URL is not set (use ${?BACKEND_URL} to make it optional)"),
            ],
            result.Errors);
    }

    // ---- validation ----

    public static TheoryData<string, string, string> InvalidConfigs() => new()
    {
        // block structure
        { "akka { loglevel = INFO }", "prox", "missing prox { … } block" },
        { "porx { }", "prox", "missing prox { … } block (found 'porx': a typo?)" },
        { "prox = 5", "prox", "expected an object { … }, got '5'" },
        { ProxBlock("listen = \"127.0.0.1:8080\""), "prox.routes", "at least one route is required" },
        { ProxBlock("routes { }"), "prox.routes", "at least one route is required" },
        { ProxBlock("routes = []"), "prox.routes", "expected an object { … }, got a list" },
        // unknown keys
        { WithRoute(Backend, "lisen = \"127.0.0.1:1\""), "prox.lisen", "unknown key (did you mean 'listen'?)" },
        { WithRoute($"{Backend}\nload-balancng = random"), "prox.routes.api.load-balancng", "unknown key (did you mean 'load-balancing'?)" },
        { WithRoute($"{Backend}\nfrobnicate = 1"), "prox.routes.api.frobnicate", "unknown key" },
        { WithRoute($"{Backend}\nallow-trac = true"), "prox.routes.api.allow-trac", "unknown key (did you mean 'allow-trace'?)" },
        { WithRoute("backends = [{ url = \"http://a\", wieght = 2 }]"), "prox.routes.api.backends[0].wieght", "unknown key (did you mean 'weight'?)" },
        { WithRoute($"{Backend}\nretries {{ atempts = 1 }}"), "prox.routes.api.retries.atempts", "unknown key (did you mean 'attempts'?)" },
        { WithRoute($"{Backend}\nmatch {{ host = [\"a.com\"] }}"), "prox.routes.api.match.host", "unknown key (did you mean 'hosts'?)" },
        { WithRoute($"{Backend}\npassive {{ eject = 1s }}"), "prox.routes.api.passive.eject", "unknown key" },
        { WithRoute($"{Backend}\ntimeouts {{ conect = 1s }}"), "prox.routes.api.timeouts.conect", "unknown key (did you mean 'connect'?)" },
        { WithRoute(Backend, "limits { max-body = 1MB }"), "prox.limits.max-body", "unknown key" },
        { WithRoute(Backend, "admin { lsten = \"127.0.0.1:1\" }"), "prox.admin.lsten", "unknown key (did you mean 'listen'?)" },
        // wrong types
        { WithRoute($"{Backend}\nstrip-prefix = maybe"), "prox.routes.api.strip-prefix", "expected true or false, got 'maybe'" },
        { WithRoute($"{Backend}\nbackend-header = [true]"), "prox.routes.api.backend-header", "expected true or false, got a list" },
        { WithRoute($"{Backend}\nallow-trace = sometimes"), "prox.routes.api.allow-trace", "expected true or false, got 'sometimes'" },
        { WithRoute($"{Backend}\ntimeouts = 5s"), "prox.routes.api.timeouts", "expected an object { … }, got '5s'" },
        { WithRoute("backends = \"http://127.0.0.1:1\""), "prox.routes.api.backends", "expected a list of backends, got 'http://127.0.0.1:1'" },
        { WithRoute($"{Backend}\nmatch {{ hosts = {{ a = 1 }} }}"), "prox.routes.api.match.hosts", "expected a host name or a list of them, got an object" },
        { WithRoute($"{Backend}\nmatch = \"/api\""), "prox.routes.api.match", "expected an object { … }, got '/api'" },
        { WithRoute(Backend, "listen = { tls = 1, address = \"127.0.0.1:80\" }"), "prox.listen.tls", "expected an object { … }, got '1'" },
        { WithRoute(Backend, "listen = { protocols = [http1] }"), "prox.listen.address", "missing: the host:port to listen on, e.g. address = \"0.0.0.0:8443\"" },
        { WithRoute(Backend, "listen = [[\"127.0.0.1:80\"]]"), "prox.listen[0]", "expected a host:port string or { address = …, tls { … }, protocols = [ … ] }, got a list" },
        { WithRoute($"{Backend}\nretries {{ on = [[502]] }}"), "prox.routes.api.retries.on[0]", "expected a retry condition, got a list" },
        // backends
        { WithRoute("load-balancing = random"), "prox.routes.api.backends", "missing: a route needs at least one backend" },
        { WithRoute("backends = []"), "prox.routes.api.backends", "must list at least one backend" },
        { WithRoute("backends = [\"http://127.0.0.1:1\"]"), "prox.routes.api.backends[0]", "expected an object such as { url = \"http://127.0.0.1:5001\" }, got 'http://127.0.0.1:1'" },
        { WithRoute("backends = [{ weight = 2 }]"), "prox.routes.api.backends[0].url", "missing: each backend needs a url such as \"http://127.0.0.1:5001\"" },
        { WithRoute("backends = [{ url = \"http://a\" }, { url = \"/relative\" }]"), "prox.routes.api.backends[1].url", "'/relative' is not an absolute http(s) URL" },
        { WithRoute("backends = [{ url = \"ftp://a\" }]"), "prox.routes.api.backends[0].url", "'ftp://a' is not an absolute http(s) URL" },
        { WithRoute("backends = [{ url = \"127.0.0.1:5001\" }]"), "prox.routes.api.backends[0].url", "'127.0.0.1:5001' is not an absolute http(s) URL" },
        { WithRoute("backends = [{ url = \"http://a/x?y=1\" }]"), "prox.routes.api.backends[0].url", "must not contain a query string" },
        { WithRoute("backends = [{ url = \"http://a/x#top\" }]"), "prox.routes.api.backends[0].url", "must not contain a fragment" },
        { WithRoute("backends = [{ url = \"http://user:pw@a/\" }]"), "prox.routes.api.backends[0].url", "must not contain credentials (user info)" },
        { WithRoute("backends = [{ url = \"http://a\", weight = 0 }]"), "prox.routes.api.backends[0].weight", "must be an integer from 1 to 10000, got '0'" },
        { WithRoute("backends = [{ url = \"http://a\", weight = 10001 }]"), "prox.routes.api.backends[0].weight", "must be an integer from 1 to 10000, got '10001'" },
        { WithRoute("backends = [{ url = \"http://a\", weight = 1.5 }]"), "prox.routes.api.backends[0].weight", "must be an integer from 1 to 10000, got '1.5'" },
        { WithRoute("backends = [{ url = \"http://a\", weight = heavy }]"), "prox.routes.api.backends[0].weight", "must be an integer from 1 to 10000, got 'heavy'" },
        { WithRoute("backends = [{ url = \"http://a\", timeout = 0s }]"), "prox.routes.api.backends[0].timeout", "must be greater than 0" },
        { WithRoute("backends = [{ id = x, url = \"http://a\" }, { id = x, url = \"http://b\" }]"), "prox.routes.api.backends[1].id", "duplicate backend id 'x' (also used by prox.routes.api.backends[0]); give each backend a distinct id" },
        { WithRoute("backends = [{ url = \"http://127.0.0.1:5001\" }, { url = \"http://127.0.0.1:5001/other\" }]"), "prox.routes.api.backends[1].url", "duplicate backend id '127.0.0.1:5001' (also used by prox.routes.api.backends[0]); give each backend a distinct id" },
        { WithRoute("backends = [{ id = \"a b\", url = \"http://a\" }]"), "prox.routes.api.backends[0].id", "must be 1-200 characters without spaces" },
        // match
        { WithRoute($"{Backend}\nmatch {{ path-prefix = \"api\" }}"), "prox.routes.api.match.path-prefix", "must start with '/', got 'api'" },
        { WithRoute($"{Backend}\nmatch {{ path-prefix = \"/a?b\" }}"), "prox.routes.api.match.path-prefix", "must be a plain path without spaces, '?' or '#'" },
        { WithRoute($"{Backend}\nmatch {{ hosts = [\"api.example.com:8080\"] }}"), "prox.routes.api.match.hosts[0]", "'api.example.com:8080' must be a host name without a port" },
        { WithRoute($"{Backend}\nmatch {{ hosts = [\"ok.com\", \"a*.example.com\"] }}"), "prox.routes.api.match.hosts[1]", "'a*.example.com': a wildcard is only allowed as a leading '*.', e.g. *.example.com" },
        { WithRoute($"{Backend}\nmatch {{ hosts = \"bad_host\" }}"), "prox.routes.api.match.hosts", "'bad_host' is not a valid host name or *.suffix pattern" },
        { ProxBlock($"routes {{ \"my route\" {{ {Backend} }} }}"), "prox.routes.\"my route\"", "route id must start with a letter or digit and contain only letters, digits, '.', '-' or '_' (at most 100)" },
        // duplicate matches
        {
            ProxBlock($"routes {{\n a {{ match {{ path-prefix = \"/api\" }}, {Backend} }}\n b {{ match {{ path-prefix = \"/api/\" }}, {Backend} }}\n}}"),
            "prox.routes.b.match", "duplicate match: route 'a' already matches path-prefix '/api' on any host"
        },
        {
            ProxBlock($"routes {{\n a {{ {Backend} }}\n b {{ match {{ path-prefix = \"/\" }}, {Backend} }}\n}}"),
            "prox.routes.b.match", "duplicate match: route 'a' already matches path-prefix '/' on any host"
        },
        {
            ProxBlock($"routes {{\n a {{ match {{ hosts = [\"x.com\", \"y.com\"] }}, {Backend} }}\n b {{ match {{ hosts = [\"Y.com\"] }}, {Backend} }}\n}}"),
            "prox.routes.b.match", "duplicate match: route 'a' already matches path-prefix '/' for host 'y.com'"
        },
        // policies
        {
            WithRoute($"{Backend}\nload-balancing = fastest"), "prox.routes.api.load-balancing",
            "unknown load-balancing policy 'fastest' (allowed: round-robin, weighted-round-robin, random, weighted-random, least-connections, least-latency)"
        },
        { WithRoute($"{Backend}\nretries {{ attempts = 11 }}"), "prox.routes.api.retries.attempts", "must be an integer from 0 to 10, got '11'" },
        { WithRoute($"{Backend}\nretries {{ attempts = -1 }}"), "prox.routes.api.retries.attempts", "must be an integer from 0 to 10, got '-1'" },
        { WithRoute($"{Backend}\nretries {{ on = [timeout, 404] }}"), "prox.routes.api.retries.on[1]", "unknown retry condition '404' (allowed: connect-failure, timeout, or an HTTP status 500-599)" },
        { WithRoute($"{Backend}\nretries {{ on = [reset] }}"), "prox.routes.api.retries.on[0]", "unknown retry condition 'reset' (allowed: connect-failure, timeout, or an HTTP status 500-599)" },
        { WithRoute($"{Backend}\nretries {{ backoff = 5s, max-backoff = 1s }}"), "prox.routes.api.retries.max-backoff", "max-backoff (00:00:01) must not be less than backoff (00:00:05)" },
        { WithRoute($"{Backend}\npassive {{ failures-to-eject = 0 }}"), "prox.routes.api.passive.failures-to-eject", "must be an integer >= 1, got '0'" },
        { WithRoute($"{Backend}\npassive {{ eject-for = 1m, max-eject-for = 10s }}"), "prox.routes.api.passive.max-eject-for", "max-eject-for (00:00:10) must not be less than eject-for (00:01:00)" },
        // durations
        { WithRoute($"{Backend}\ntimeouts {{ connect = 0s }}"), "prox.routes.api.timeouts.connect", "must be greater than 0" },
        { WithRoute($"{Backend}\ntimeouts {{ request = -5s }}"), "prox.routes.api.timeouts.request", "must not be negative" },
        { WithRoute($"{Backend}\ntimeouts {{ connect = soon }}"), "prox.routes.api.timeouts.connect", "'soon' is not a duration (use e.g. 500ms, 2s, 1m or 10 seconds)" },
        { WithRoute($"{Backend}\ntimeouts {{ connect = 5 }}"), "prox.routes.api.timeouts.connect", "'5' has no unit (use e.g. 500ms, 2s, 1m or 10 seconds)" },
        { WithRoute($"{Backend}\ntimeouts {{ connect = 5 fortnights }}"), "prox.routes.api.timeouts.connect", "unknown duration unit 'fortnights' (use ns, us, ms, s, m, h or d)" },
        { WithRoute($"{Backend}\ntimeouts {{ connect = 1e3ms }}"), "prox.routes.api.timeouts.connect", "'1e3ms' is not a duration (use e.g. 500ms, 2s, 1m or 10 seconds)" },
        { WithRoute($"{Backend}\ntimeouts {{ connect = 99999999999999999999d }}"), "prox.routes.api.timeouts.connect", "'99999999999999999999d' is too large" },
        { WithRoute($"{Backend}\nretries {{ backoff = {{ ms = 5 }} }}"), "prox.routes.api.retries.backoff", "expected a duration such as 2s, got an object" },
        // listen addresses
        { WithRoute(Backend, "listen = \"localhost\""), "prox.listen", "'localhost' has no port (use host:port with an IPv4 address, [IPv6], localhost or *, e.g. 127.0.0.1:8080)" },
        { WithRoute(Backend, "listen = \"127.0.0.1:70000\""), "prox.listen", "'127.0.0.1:70000' has an invalid port (use 0-65535; 0 picks a free port)" },
        { WithRoute(Backend, "listen = [\"127.0.0.1:80\", \"example.com:80\"]"), "prox.listen[1]", "'example.com:80' is not a listen address (use host:port with an IPv4 address, [IPv6], localhost or *, e.g. 127.0.0.1:8080)" },
        { WithRoute(Backend, "listen = \"::1:80\""), "prox.listen", "'::1:80': IPv6 addresses must be in brackets, e.g. [::1]:8080" },
        { WithRoute(Backend, "listen = \"256.0.0.1:80\""), "prox.listen", "'256.0.0.1:80' is not a listen address (use host:port with an IPv4 address, [IPv6], localhost or *, e.g. 127.0.0.1:8080)" },
        { WithRoute(Backend, "listen = []"), "prox.listen", "must list at least one address" },
        { WithRoute(Backend, "listen = [\"127.0.0.1:80\", \"127.0.0.1:80\"]"), "prox.listen[1]", "duplicate address 127.0.0.1:80" },
        { WithRoute(Backend, "admin.listen = \"[::1]\""), "prox.admin.listen", "'[::1]' is not a listen address (use host:port with an IPv4 address, [IPv6], localhost or *, e.g. 127.0.0.1:8080)" },
        { WithRoute(Backend, "listen = \"127.0.0.1:9000\"\nadmin.listen = \"127.0.0.1:9000\""), "prox.admin.listen", "127.0.0.1:9000 is also a proxy listen address; the admin plane needs its own listener" },
        { WithRoute(Backend, "admin.chaos = maybe"), "prox.admin.chaos", "expected true or false, got 'maybe'" },
        { WithRoute(Backend, "admin.listen = \"0.0.0.0:9901\""), "prox.admin.listen", "0.0.0.0:9901 is not a loopback address; bind the admin listener beyond 127.0.0.1, [::1] or localhost only with prox.admin.tokens set (create one with 'prox token')" },
        { WithRoute(Backend, "admin.listen = [\"127.0.0.1:9901\", \"*:9902\"]"), "prox.admin.listen[1]", "*:9902 is not a loopback address; bind the admin listener beyond 127.0.0.1, [::1] or localhost only with prox.admin.tokens set (create one with 'prox token')" },
        // trusted proxies and limits
        { WithRoute(Backend, "trusted-proxies = [\"10.0.0.1/8\"]"), "prox.trusted-proxies[0]", "'10.0.0.1/8' has bits set beyond the /8 prefix (did you mean 10.0.0.0/8?)" },
        { WithRoute(Backend, "trusted-proxies = [\"10.0.0.0/8\", \"nope\"]"), "prox.trusted-proxies[1]", "'nope' is not an IP address or CIDR range (e.g. 10.0.0.0/8 or 192.168.1.10)" },
        { WithRoute(Backend, "trusted-proxies = [\"10.0.0.0/33\"]"), "prox.trusted-proxies[0]", "'10.0.0.0/33' has an invalid prefix length (use /0 to /32)" },
        { WithRoute(Backend, "limits { max-request-body = lots }"), "prox.limits.max-request-body", "'lots' is not a size (use e.g. 10MB, 1GiB, 1048576 or \"unlimited\")" },
        { WithRoute(Backend, "limits { max-request-body = -1 }"), "prox.limits.max-request-body", "must not be negative (use 0 or \"unlimited\" for no limit)" },
        { WithRoute(Backend, "limits { max-request-body = 10 mb }"), "prox.limits.max-request-body", "unknown size unit 'mb' (use B, KB, MB, GB, KiB, MiB, GiB, or k, m, g)" },
        // broken values
        { WithRoute(Backend, "listen = ${PROX_UNSET}"), "prox.listen", "environment variable PROX_UNSET is not set (use ${?PROX_UNSET} to make it optional)" },
        { WithRoute(Backend, "listen = ${prox.admin.listen}"), "prox.listen", "environment variable prox.admin.listen is not set (substitutions are resolved from environment variables only, not from other config paths)" },
        { WithRoute($"{Backend}\nstrip-prefix = [true] x"), "prox.routes.api.strip-prefix", "cannot combine text, objects and lists in one value" },
    };

    [Theory]
    [MemberData(nameof(InvalidConfigs))]
    public void ParseText_InvalidConfig_ReportsPathAndMessage(string text, string path, string message)
    {
        var result = Parse(text);

        Assert.False(result.IsValid);
        Assert.Null(result.Config);
        Assert.Equal(new ConfigError(path, message), Assert.Single(result.Errors));
    }

    [Fact]
    public void ParseText_SeveralErrors_ReportsAllOfThem()
    {
        const string text = """
            prox {
              listen = "nowhere"
              trusted-proxies = ["10.0.0.0/8", "bogus"]
              routes {
                api {
                  match { path-prefix = "api" }
                  load-balancng = random
                  backends = [
                    { url = "http://127.0.0.1:5001", weight = 0 }
                    { url = "not a url" }
                  ]
                  timeouts { connect = 0s, request = forever }
                  retries { attempts = 99, on = [teapot] }
                  passive { failures-to-eject = 0 }
                }
                empty { backends = [] }
              }
            }
            """;

        var result = Parse(text);

        Assert.Null(result.Config);
        Assert.Equal(
            [
                "prox.listen",
                "prox.trusted-proxies[1]",
                "prox.routes.api.load-balancng",
                "prox.routes.api.match.path-prefix",
                "prox.routes.api.backends[0].weight",
                "prox.routes.api.backends[1].url",
                "prox.routes.api.timeouts.connect",
                "prox.routes.api.timeouts.request",
                "prox.routes.api.retries.attempts",
                "prox.routes.api.retries.on[0]",
                "prox.routes.api.passive.failures-to-eject",
                "prox.routes.empty.backends",
            ],
            result.Errors.Select(e => e.Path));
    }

    // ---- malformed input ----

    public static TheoryData<string, string> MalformedHocon() => new()
    {
        { "prox { routes { ", "line 1, column 15: '{' is never closed" },
        // each of the next three makes Akka's own parser loop forever
        { "prox { a = [1, } }", "line 1, column 16: unexpected '}': the '[' opened at line 1, column 12 is still open" },
        { "prox { hosts = [*.example.com] }", "line 1, column 17: unexpected '*' (quote values that contain it)" },
        { "prox {\n  listen = [127.0.0.1:8080]\n}", "line 2, column 22: unexpected ':' after '127.0.0.1' (quote values that contain '=' or ':', such as URLs and host:port)" },
        // and these overflow its stack
        { "prox { a = ${?} }", "line 1, column 12: invalid substitution '${?}' (expected ${NAME} or ${?NAME})" },
        { "a = ${ }", "line 1, column 5: invalid substitution '${}' (expected ${NAME} or ${?NAME})" },
        { "prox { a = \"unterminated }", "line 1, column 12: unterminated string (a quoted string must end on the same line)" },
        { "a = \"\"\"never closed", "line 1, column 5: unterminated \"\"\" string" },
        { "a = ${?X", "line 1, column 5: unterminated substitution (missing '}')" },
        { "a = $5", "line 1, column 5: unexpected '$' (substitutions look like ${?NAME}; quote text that contains '$')" },
        { "}}}{{{", "line 1, column 1: unexpected '}' with nothing open" },
        { "{ \"prox\": {} } { \"b\": 1 }", "line 1, column 16: unexpected content after the closing '}' of the root object" },
        { "include \"other.conf\"\nprox {}", "line 1, column 1: include is not supported; keep the config in one file" },
        { "prox { a = \"\\q\" }", "line 1, column 13: invalid escape '\\q' in string" },
        { "prox { a = \"\\u12\" }", "line 1, column 13: invalid \\u escape (expected 4 hex digits)" },
        { "a b c", "line 1, column 1: key 'a b c' has no value" },
        { "prox { a = 1 b = 2 }", "line 1, column 16: unexpected '=' (put each field on its own line or separate fields with ',')" },
        { "prox {\n  routes\n  { }\n  listen\n}", "line 5, column 1: unexpected '}' (expected '=', ':' or '{' after key 'listen')" },
        { "\"\"\"a\"\"\" = 1", "line 1, column 1: triple-quoted keys are not supported" },
        { "a = [1,,2]", "line 1, column 8: unexpected ',' (empty list element)" },
        { "a = \"x\"\n, b = 1", "line 2, column 1: unexpected ',' (expected a key)" },
        { "prox { a = http:x }", "line 1, column 16: unexpected ':' after 'http' (quote values that contain '=' or ':', such as URLs and host:port)" },
        { "prox {\n  , a = 1\n}", "line 2, column 3: unexpected ',' (expected a key)" },
        { "a = " + new string('[', 1000), "line 1, column 68: nested more than 64 levels deep" },
        { "a" + string.Concat(Enumerable.Repeat(".a", 100)) + " = 1", "line 1, column 129: key has more than 64 dotted parts" },
    };

    [Theory]
    [MemberData(nameof(MalformedHocon))]
    public void ParseText_MalformedHocon_ReturnsOneFileError(string text, string message)
    {
        var result = Parse(text);

        var error = Assert.Single(result.Errors);
        Assert.Equal(ProxConfigParser.FilePath, error.Path);
        Assert.StartsWith("invalid HOCON: ", error.Message);
        Assert.Contains(message, error.Message);
        Assert.Null(result.Config);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   \n\t")]
    [InlineData("null")]
    [InlineData("{")]
    [InlineData("]")]
    [InlineData("\"")]
    [InlineData("\"\"\"")]
    [InlineData("${")]
    [InlineData("$")]
    [InlineData("#")]
    [InlineData("//")]
    [InlineData("prox")]
    [InlineData("prox {")]
    [InlineData("prox = [")]
    [InlineData("prox =")]
    [InlineData("prox { routes = ${?A} }")]
    [InlineData("prox.routes.a.backends = [{}]")]
    [InlineData("prox.routes.a.backends = [{ url = {} }, [], null, 5]")]
    [InlineData("a = ${a}")]
    [InlineData("a = ${a} [1]")]
    [InlineData("a = ${b}\nb = ${a}\nc = ${a.x}")]
    [InlineData("a = 1\na = ${?PROX_NOPE}")]
    [InlineData("a = 1 b = 2")]
    [InlineData("prox { routes { a { backends = [{ url = \"http://a\" }] } } } trailing")]
    [InlineData("\0\u0001\uFFFF")]
    [InlineData("\uFEFFprox { }")]
    [InlineData("[1, 2, 3]")]
    [InlineData("prox { a = [1 2 3, {b = [}]] }")]
    public void ParseText_Garbage_ReturnsErrorsWithoutThrowing(string text)
    {
        var result = Parse(text);

        Assert.NotEmpty(result.Errors);
        Assert.Null(result.Config);
        AssertNoInternalError(result);
    }

    [Fact]
    public void ParseText_Null_ReturnsError()
    {
        var result = ProxConfigParser.ParseText(null!);

        Assert.Equal(ProxConfigParser.FilePath, Assert.Single(result.Errors).Path);
    }

    [Fact(Timeout = 120_000)]
    public async Task ParseText_RandomAndMutatedInput_NeverThrowsOrHangs()
    {
        var valid = File.ReadAllText(Path.Combine(RepoRoot(), "config", "examples", "full.conf"));
        const string alphabet = "{}[]=:,.\"$?#/\\ \n\tabcprox0123456789-_*+'`";
        string[] tokens = ["prox", "routes", "{", "}", "[", "]", "=", ":", ",", "\"", "\"\"\"", "${", "${?", "}", "include", "#", "//", "\n", " ", "backends", "url", "\"http://a\"", "1s", "null", "."];
        var random = new Random(20240607);

        await Task.Run(() =>
        {
            for (var i = 0; i < 3000; i++)
            {
                var text = (i % 3) switch
                {
                    0 => new string([.. Enumerable.Range(0, random.Next(0, 80)).Select(_ => alphabet[random.Next(alphabet.Length)])]),
                    1 => string.Concat(Enumerable.Range(0, random.Next(0, 40)).Select(_ => tokens[random.Next(tokens.Length)])),
                    _ => Mutate(valid, random),
                };

                ConfigParseResult result;
                try
                {
                    result = Parse(text, ("PROX_LISTEN", "127.0.0.1:1"));
                }
                catch (Exception ex)
                {
                    throw new Xunit.Sdk.XunitException($"threw {ex.GetType().Name} for input:\n{text}\n{ex}");
                }
                Assert.True(result.IsValid || !result.Errors.IsEmpty);
                if (result.Errors.Any(e => e.Message.Contains("internal error", StringComparison.Ordinal)))
                    throw new Xunit.Sdk.XunitException($"internal error for input:\n{text}\n{string.Join("\n", result.Errors)}");
            }
        });
    }

    private static string Mutate(string text, Random random)
    {
        var sb = new StringBuilder(text);
        for (var edits = random.Next(1, 4); edits > 0 && sb.Length > 0; edits--)
        {
            var at = random.Next(sb.Length);
            switch (random.Next(3))
            {
                case 0:
                    sb.Remove(at, Math.Min(random.Next(1, 20), sb.Length - at));
                    break;
                case 1:
                    sb.Insert(at, "{}[]=:,\"$*#\n"[random.Next(12)]);
                    break;
                default:
                    sb.Insert(at, text.Substring(random.Next(text.Length / 2), random.Next(1, 30)));
                    break;
            }
        }
        return sb.ToString();
    }

    // ---- files ----

    [Fact]
    public void ParseFile_MissingFile_ReturnsError()
    {
        var path = Path.Combine(Path.GetTempPath(), "prox-" + Guid.NewGuid().ToString("N") + ".conf");

        var result = ProxConfigParser.ParseFile(path);

        Assert.Equal(new ConfigError(ProxConfigParser.FilePath, $"cannot read config file '{path}': file not found"), Assert.Single(result.Errors));
    }

    [Theory]
    [InlineData("")]
    [InlineData("\0")]
    public void ParseFile_BadPath_ReturnsError(string path)
    {
        var result = ProxConfigParser.ParseFile(path);

        Assert.Equal(ProxConfigParser.FilePath, Assert.Single(result.Errors).Path);
    }

    [Theory]
    [InlineData("config/prox.conf")]
    [InlineData("config/examples/full.conf")]
    [InlineData("config/examples/cluster.conf")]
    public void ParseFile_ShippedConfig_IsValid(string relativePath)
    {
        var path = Path.Combine(RepoRoot(), relativePath);

        var config = AssertValid(ProxConfigParser.ParseFile(path));

        Assert.Equal(File.ReadAllText(path), config.SourceText);
        Assert.NotEmpty(config.Routes);
    }

    [Fact]
    public void ParseFile_DefaultConfig_HasDocumentedValues()
    {
        var config = AssertValid(ProxConfigParser.ParseFile(Path.Combine(RepoRoot(), "config", "prox.conf")));

        Assert.Equal<ListenAddress>([new ListenAddress("127.0.0.1", 8080)], config.Listen);
        Assert.Equal<ListenAddress>([new ListenAddress("127.0.0.1", 9901)], config.Admin.Listen);
        var route = Assert.Single(config.Routes);
        Assert.Equal("default", route.Id);
        Assert.Equal("/", route.Match.PathPrefix);
        Assert.Equal<Uri>([new Uri("http://127.0.0.1:5001"), new Uri("http://127.0.0.1:5002")], route.Backends.Select(b => b.Url));
    }
}
