using Prox.Actors.Config;
using Prox.Actors.Hocon;
using Prox.Actors.Recovery;
using Xunit;

namespace Prox.Tests.Recovery;

/// <summary>The <c>recovery { … }</c> block on routes and backends: binding, key-by-key merging and validation.</summary>
public sealed class RecoveryConfigBinderTests
{
    private const string Health = "health {}";
    private const string Backend = """backends = [{ id = a, url = "http://127.0.0.1:5001" }]""";
    private const string Http = """http { url = "http://127.0.0.1:9000/restart" }""";

    private static string WithRoute(string route) => $"prox {{\nroutes {{\n api {{\n{route}\n }}\n}}\n}}\n";

    /// <summary>Route <c>api</c> with health checks, one backend and the given route-level recovery block body.</summary>
    private static string WithRecovery(string recovery) => WithRoute($"{Health}\n{Backend}\nrecovery {{ {recovery} }}");

    /// <summary>Route <c>api</c> with health checks and one backend with the given recovery block body.</summary>
    private static string WithBackendRecovery(string recovery) =>
        WithRoute($"{Health}\nbackends = [{{ id = a, url = \"http://127.0.0.1:5001\", recovery {{ {recovery} }} }}]");

    private static ConfigParseResult Parse(string text) => ProxConfigParser.ParseText(text, _ => null);

    private static RouteConfig SingleRoute(string text)
    {
        var result = Parse(text);
        Assert.True(result.IsValid, string.Join(Environment.NewLine, result.Errors));
        return Assert.Single(result.Config!.Routes);
    }

    // ---- binding ----

    [Fact]
    public void ParseText_HttpAction_BindsEveryField()
    {
        var route = SingleRoute(WithRecovery("""
            after = 1m, backoff = 20s, max-backoff = 5m, timeout = 3s
            http {
              url = "https://ops.example.com/restart?service=api", method = put
              headers { Authorization = "Bearer t0k3n", "X-Reason" = "prox recovery" }
              body = "{\"service\":\"api\"}"
            }
            """));

        var expected = RecoveryConfig.Default with
        {
            After = TimeSpan.FromMinutes(1),
            Backoff = TimeSpan.FromSeconds(20),
            MaxBackoff = TimeSpan.FromMinutes(5),
            Timeout = TimeSpan.FromSeconds(3),
            Http = new RecoveryHttp(new Uri("https://ops.example.com/restart?service=api"), "PUT",
                [new("Authorization", "Bearer t0k3n"), new("X-Reason", "prox recovery")], "{\"service\":\"api\"}"),
        };
        Assert.Equal(expected, route.Recovery);
        Assert.Equal(expected, Assert.Single(route.Backends).Recovery);
        Assert.Equal("http PUT https://ops.example.com/restart?service=api", expected.Describe());
    }

    [Fact]
    public void ParseText_CommandAction_DefaultsAndVerbatimArguments()
    {
        var route = SingleRoute(WithRecovery("""command = ["/usr/bin/systemctl", "restart", " my app "]"""));

        var recovery = Assert.Single(route.Backends).Recovery!;
        Assert.Equal<string>(["/usr/bin/systemctl", "restart", " my app "], recovery.Command);
        Assert.Null(recovery.Http);
        Assert.Equal(TimeSpan.FromSeconds(30), recovery.After);
        Assert.Equal(TimeSpan.FromSeconds(30), recovery.EffectiveBackoff); // backoff defaults to after
        Assert.Equal(TimeSpan.FromMinutes(10), recovery.MaxBackoff);
        Assert.Equal(TimeSpan.FromSeconds(10), recovery.Timeout);
        Assert.Equal("command /usr/bin/systemctl", recovery.Describe());
    }

    [Fact]
    public void ParseText_HttpMethodDefaultsToPost()
    {
        var route = SingleRoute(WithRecovery(Http));

        Assert.Equal("POST", route.Recovery!.Http!.Method);
        Assert.Empty(route.Recovery.Http.Headers);
        Assert.Null(route.Recovery.Http.Body);
    }

    [Fact]
    public void ParseText_NoRecoveryBlock_LeavesRecoveryNull()
    {
        var route = SingleRoute(WithRoute($"{Health}\n{Backend}"));

        Assert.Null(route.Recovery);
        Assert.Null(Assert.Single(route.Backends).Recovery);
    }

    [Fact]
    public void ParseText_BackendRecoveryBlock_OverridesRouteKeyByKey()
    {
        var route = SingleRoute(WithRoute($$"""
            {{Health}}
            recovery {
              after = 1m, max-backoff = 2m
              http { url = "http://127.0.0.1:9000/restart", method = POST, headers { X-Token = "s" } }
            }
            backends = [
              { id = a, url = "http://127.0.0.1:5001", recovery { after = 10s, http { url = "http://127.0.0.1:9000/restart-a" } } }
              { id = b, url = "http://127.0.0.1:5002", recovery { command = ["/usr/local/bin/restart-b"] } }
              { id = c, url = "http://127.0.0.1:5003" }
            ]
            """));

        var routeRecovery = route.Recovery!;
        Assert.Equal(TimeSpan.FromMinutes(1), routeRecovery.After);
        // a: its own after (backoff follows it) and url; the route's method, headers and max-backoff
        var a = route.Backends[0].Recovery!;
        Assert.Equal(TimeSpan.FromSeconds(10), a.After);
        Assert.Equal(TimeSpan.FromSeconds(10), a.EffectiveBackoff);
        Assert.Equal(TimeSpan.FromMinutes(2), a.MaxBackoff);
        Assert.Equal(routeRecovery.Http! with { Url = new Uri("http://127.0.0.1:9000/restart-a") }, a.Http);
        // b: a command replaces the route's http action; the other keys are the route's
        var b = route.Backends[1].Recovery!;
        Assert.Null(b.Http);
        Assert.Equal<string>(["/usr/local/bin/restart-b"], b.Command);
        Assert.Equal(TimeSpan.FromMinutes(1), b.After);
        // c: the route's block as is
        Assert.Equal(routeRecovery, route.Backends[2].Recovery);
    }

    [Fact]
    public void ParseText_RouteBlockWithoutAction_EveryBackendNamesOne_Valid()
    {
        var route = SingleRoute(WithRoute($$"""
            {{Health}}
            recovery { after = 5s }
            backends = [
              { id = a, url = "http://127.0.0.1:5001", recovery { command = ["/opt/a/restart"] } }
              { id = b, url = "http://127.0.0.1:5002", recovery { {{Http}} } }
            ]
            """));

        Assert.All(route.Backends, b => Assert.Equal(TimeSpan.FromSeconds(5), b.Recovery!.After));
    }

    [Fact]
    public void ParseText_BackendHealthOnly_RecoveryAllowed()
    {
        var route = SingleRoute(WithRoute($$"""
            backends = [{ id = a, url = "http://127.0.0.1:5001", health { path = "/ready" }, recovery { {{Http}} } }]
            """));

        Assert.NotNull(Assert.Single(route.Backends).Recovery);
    }

    [Fact]
    public void ParseFile_FullExample_HasRouteRecoveryAndBackendOverride()
    {
        var result = ProxConfigParser.ParseFile(Path.Combine(RepoRoot(), "config", "examples", "full.conf"));
        Assert.True(result.IsValid, string.Join(Environment.NewLine, result.Errors));

        var api = result.Config!.Routes.Single(r => r.Id == "api");
        Assert.NotNull(api.Recovery!.Http);
        Assert.Equal(api.Recovery, api.Backends.Single(b => b.Id == "api-1").Recovery);
        var own = api.Backends.Single(b => b.Id == "api-2").Recovery!;
        Assert.Equal(("command /usr/bin/systemctl", TimeSpan.FromMinutes(1), api.Recovery.MaxBackoff), (own.Describe(), own.After, own.MaxBackoff));
        Assert.All(result.Config.Routes.Single(r => r.Id == "static").Backends, b => Assert.Null(b.Recovery));
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

    // ---- validation ----

    public static TheoryData<string, string, string> InvalidConfigs() => new()
    {
        // unknown keys
        { WithRecovery($"aftr = 1s, {Http}"), "prox.routes.api.recovery.aftr", "unknown key (did you mean 'after'?)" },
        { WithRecovery("http { url = \"http://h/r\", methd = POST }"), "prox.routes.api.recovery.http.methd", "unknown key (did you mean 'method'?)" },
        { WithBackendRecovery($"{Http}, retries = 3"), "prox.routes.api.backends[0].recovery.retries", "unknown key" },
        { WithRoute($"{Health}\n{Backend}\nrecovry {{ {Http} }}"), "prox.routes.api.recovry", "unknown key (did you mean 'recovery'?)" },
        // types
        { WithRoute($"{Health}\n{Backend}\nrecovery = on"), "prox.routes.api.recovery", "expected an object { … }, got 'on'" },
        { WithRecovery("http = \"http://h/r\""), "prox.routes.api.recovery.http", "expected an object { … }, got 'http://h/r'" },
        { WithRecovery("http { url = \"http://h/r\", headers = \"X: y\" }"), "prox.routes.api.recovery.http.headers", "expected an object { … }, got 'X: y'" },
        // durations
        { WithRecovery($"after = 0s, {Http}"), "prox.routes.api.recovery.after", "must be greater than 0" },
        { WithRecovery($"after = 30, {Http}"), "prox.routes.api.recovery.after", "'30' has no unit (use e.g. 500ms, 2s, 1m or 10 seconds)" },
        { WithRecovery($"backoff = 0ms, {Http}"), "prox.routes.api.recovery.backoff", "must be greater than 0" },
        { WithRecovery($"timeout = soon, {Http}"), "prox.routes.api.recovery.timeout", "'soon' is not a duration (use e.g. 500ms, 2s, 1m or 10 seconds)" },
        { WithBackendRecovery($"max-backoff = 0s, {Http}"), "prox.routes.api.backends[0].recovery.max-backoff", "must be greater than 0" },
        // max-backoff >= backoff (or after, when backoff is not set)
        {
            WithRecovery($"backoff = 1m, max-backoff = 30s, {Http}"), "prox.routes.api.recovery.max-backoff",
            "max-backoff (00:00:30) must not be less than backoff (00:01:00)"
        },
        {
            WithRecovery($"after = 1h, {Http}"), "prox.routes.api.recovery.after",
            "max-backoff (00:10:00) must not be less than backoff (01:00:00, the same as after)"
        },
        // the action: exactly one
        { WithRecovery("after = 1s"), "prox.routes.api.recovery", "needs an action: exactly one of http { url = … } or command = [\"/path/to/program\", …]" },
        { WithBackendRecovery("after = 1s"), "prox.routes.api.backends[0].recovery", "needs an action: exactly one of http { url = … } or command = [\"/path/to/program\", …]" },
        { WithRecovery($"{Http}, command = [\"/bin/true\"]"), "prox.routes.api.recovery", "set either http { … } or command = [ … ], not both" },
        // http
        { WithRecovery("http { method = POST }"), "prox.routes.api.recovery.http.url", "missing: an http action needs a url such as \"http://127.0.0.1:9000/restart\"" },
        { WithRecovery("http { url = \"/restart\" }"), "prox.routes.api.recovery.http.url", "'/restart' is not an absolute http(s) URL" },
        { WithRecovery("http { url = \"ftp://h/restart\" }"), "prox.routes.api.recovery.http.url", "'ftp://h/restart' is not an absolute http(s) URL" },
        {
            WithRecovery("http { url = \"http://ops:secret@h/restart\" }"), "prox.routes.api.recovery.http.url",
            "must not contain credentials (user info): /status shows the URL; put secrets in headers"
        },
        {
            WithBackendRecovery("http { url = \"http://h/r\", method = FROB }"), "prox.routes.api.backends[0].recovery.http.method",
            "unknown method 'FROB' (allowed: GET, HEAD, POST, PUT, PATCH, DELETE)"
        },
        { WithRecovery("http { url = \"http://h/r\", headers { \"Bad Name\" = x } }"), "prox.routes.api.recovery.http.headers.\"Bad Name\"", "not a valid header name" },
        {
            WithRecovery("http { url = \"http://h/r\", headers { X-A = \"a\\r\\nX-Injected: 1\" } }"), "prox.routes.api.recovery.http.headers.X-A",
            "header values must not contain control characters (CR, LF, …)"
        },
        // command
        { WithRecovery("command = []"), "prox.routes.api.recovery.command", "must not be empty: name the program (an absolute path) and its arguments" },
        {
            WithRecovery("command = \"/usr/bin/systemctl restart app\""), "prox.routes.api.recovery.command",
            "must be a list such as [\"/usr/bin/systemctl\", \"restart\", \"app\"]: there is no shell, so each argument is its own item"
        },
        {
            WithRecovery("command = [\"systemctl\", \"restart\"]"), "prox.routes.api.recovery.command[0]",
            "'systemctl' is not an absolute path; name the program by its full path (there is no shell and no PATH lookup)"
        },
        { WithBackendRecovery("command = [\"/bin/x\", [\"a\"]]"), "prox.routes.api.backends[0].recovery.command[1]", "expected a string, got a list" },
        // health checks are required
        {
            WithRoute($"{Backend}\nrecovery {{ {Http} }}"), "prox.routes.api.recovery",
            "needs active health checks (a health block on the route or the backend): they are what notices the backend coming back"
        },
        {
            WithRoute($"backends = [{{ url = \"http://127.0.0.1:5001\", recovery {{ {Http} }} }}]"), "prox.routes.api.backends[0].recovery",
            "needs active health checks (a health block on the route or the backend): they are what notices the backend coming back"
        },
    };

    [Theory]
    [MemberData(nameof(InvalidConfigs))]
    public void ParseText_InvalidRecovery_ReportsPathAndMessage(string text, string path, string message)
    {
        var result = Parse(text);

        Assert.False(result.IsValid);
        Assert.Null(result.Config);
        Assert.Equal(new ConfigError(path, message), Assert.Single(result.Errors));
    }

    [Fact]
    public void ParseText_InheritedBlockProblems_ReportedOnceAtTheRoute()
    {
        var result = Parse(WithRoute("""
            recovery { after = 5s }
            backends = [{ url = "http://127.0.0.1:5001" }, { url = "http://127.0.0.1:5002" }, { url = "http://127.0.0.1:5003" }]
            """));

        Assert.Equal(
            [
                "prox.routes.api.recovery: needs an action: exactly one of http { url = … } or command = [\"/path/to/program\", …]",
                "prox.routes.api.recovery: needs active health checks (a health block on the route or the backend): they are what notices the backend coming back",
            ],
            result.Errors.Select(e => e.ToString()));
    }
}
