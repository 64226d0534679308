using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Prox.Tests.Infrastructure;
using Xunit;

namespace Prox.Tests.E2E;

/// <summary>The config history over real HTTP, with the ConfigStore on a real SQLite file in a temp dir.</summary>
public class ConfigHistoryTests
{
    private static string Route(TestBackend backend, string extra = "") => $$"""
        routes.api {
          backend-header = true
          backends = [ { id = {{backend.Name}}, url = "{{backend.Url}}" } ]
          {{extra}}
        }
        """;

    private static async Task<JsonElement> GetJson(ProxUnderTest prox, string path) =>
        await prox.Admin.GetFromJsonAsync<JsonElement>(path);

    private static async Task<JsonElement[]> Versions(ProxUnderTest prox, string query = "") =>
        [.. (await GetJson(prox, "/admin/config/versions" + query)).GetProperty("versions").EnumerateArray()];

    private static async Task<HttpResponseMessage> Put(ProxUnderTest prox, string text, string query = "", string type = "text/plain",
        string? comment = null)
    {
        var req = new HttpRequestMessage(HttpMethod.Put, "/admin/config" + query) { Content = new StringContent(text, Encoding.UTF8, type) };
        if (comment is not null) req.Headers.Add("X-Prox-Comment", comment);
        return await prox.Admin.SendAsync(req);
    }

    private static async Task<string> Served(ProxUnderTest prox)
    {
        using var resp = await prox.Client.GetAsync("/");
        return await resp.Content.ReadAsStringAsync();
    }

    private static (long Version, string Source, string Author, string Comment) Meta(JsonElement v) =>
        (v.GetProperty("version").GetInt64(), v.GetProperty("source").GetString()!, v.GetProperty("author").GetString()!,
            v.GetProperty("comment").GetString()!);

    [Fact]
    public async Task StartPutReloadRollback_EachAppliedConfigIsAVersion_WithSourceAuthorComment()
    {
        await using var a = await TestBackend.StartAsync("a");
        await using var b = await TestBackend.StartAsync("b");
        await using var prox = await ProxUnderTest.StartFromFileAsync(Route(a));

        var current = await GetJson(prox, "/admin/config");
        Assert.Equal((1L, "file", "file", "first start"), Meta(current));
        Assert.Equal(await File.ReadAllTextAsync(prox.ConfigFile!), current.GetProperty("text").GetString());

        using (var put = await Put(prox, prox.ConfigTextFor(Route(b)), "?comment=" + Uri.EscapeDataString("move to b")))
        {
            Assert.Equal(HttpStatusCode.OK, put.StatusCode);
            var body = await put.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal((2L, "api", "anonymous-loopback", "move to b"), Meta(body));
            Assert.Contains("prox.routes.api.backends[0].id", body.GetProperty("changed").EnumerateArray().Select(c => c.GetString()));
        }
        Assert.Equal("hello from b", await Served(prox));

        // a reload of the unchanged file applies it (back to a) and records it; a second one records nothing new
        var reloaded = await prox.Host.Reloader!.ReloadAsync("test");
        Assert.True(reloaded is { Ok: true, Recorded: true, Version.Number: 3 });
        Assert.Equal("hello from a", await Served(prox));
        Assert.False((await prox.Host.Reloader!.ReloadAsync("test")).Recorded);
        await prox.ReloadAsync(Route(a, "timeouts.request = 10s"));

        using (var rollback = await prox.Admin.PostAsync("/admin/config/rollback?to=2&comment=b%20again", null))
        {
            Assert.Equal(HttpStatusCode.OK, rollback.StatusCode);
            Assert.Equal((5L, "rollback", "anonymous-loopback", "rollback to 2: b again"), Meta(await rollback.Content.ReadFromJsonAsync<JsonElement>()));
        }
        Assert.Equal("hello from b", await Served(prox));
        using (var put = await Put(prox, prox.ConfigTextFor(Route(a)), comment: "via header"))
            Assert.Equal(HttpStatusCode.OK, put.StatusCode);

        var versions = await Versions(prox);
        Assert.Equal([(6L, "api", "anonymous-loopback", "via header"), (5L, "rollback", "anonymous-loopback", "rollback to 2: b again"),
                (4L, "file", "file", "test"), (3L, "file", "file", "test"), (2L, "api", "anonymous-loopback", "move to b"), (1L, "file", "file", "first start")],
            versions.Select(Meta));
        Assert.All(versions, v => Assert.True(v.GetProperty("bytes").GetInt32() > 100));
        var v2 = await GetJson(prox, "/admin/config/versions/2");
        Assert.Equal(prox.ConfigTextFor(Route(b)), v2.GetProperty("text").GetString());
        // the unchanged reload was applied too, just not recorded
        await ProxUnderTest.EventuallyAsync(async () => (await GetJson(prox, "/admin/events?limit=1000")).GetProperty("events")
            .EnumerateArray().Count(e => e.GetProperty("kind").GetString() == "config-applied") == 6, what: "6 config-applied events");
    }

    [Fact]
    public async Task Versions_Paged_NewestFirst_NextLinksToOlder()
    {
        await using var a = await TestBackend.StartAsync("a");
        await using var prox = await ProxUnderTest.StartAsync(Route(a));
        for (var i = 1; i <= 4; i++)
            using (var put = await Put(prox, prox.ConfigTextFor(Route(a, $"timeouts.request = {i}s")), $"?comment=c{i}"))
                Assert.Equal(HttpStatusCode.OK, put.StatusCode);

        var first = await GetJson(prox, "/admin/config/versions?limit=2");
        var second = await GetJson(prox, $"/admin/config/versions?limit=2&before={first.GetProperty("next").GetInt64()}");
        var third = await GetJson(prox, $"/admin/config/versions?limit=2&before={second.GetProperty("next").GetInt64()}");

        Assert.Equal([5L, 4], first.GetProperty("versions").EnumerateArray().Select(v => v.GetProperty("version").GetInt64()));
        Assert.Equal([3L, 2], second.GetProperty("versions").EnumerateArray().Select(v => v.GetProperty("version").GetInt64()));
        Assert.Equal([1L], third.GetProperty("versions").EnumerateArray().Select(v => v.GetProperty("version").GetInt64()));
        Assert.False(third.TryGetProperty("next", out _)); // null is left out
        Assert.Equal(5, (await Versions(prox)).Length); // default page: 20
        using var bad = await prox.Admin.GetAsync("/admin/config/versions?limit=101");
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
    }

    [Fact]
    public async Task ConcurrentPutsAndReloads_Serialized_EachAVersion_CurrentIsTheLastApplied()
    {
        await using var a = await TestBackend.StartAsync("a");
        await using var prox = await ProxUnderTest.StartFromFileAsync(Route(a));
        await prox.WriteConfigAsync(Route(a, "timeouts.request = 99s"));

        var puts = Enumerable.Range(1, 6).Select(async i =>
        {
            using var put = await Put(prox, prox.ConfigTextFor(Route(a, $"timeouts.request = {i}s")), $"?comment=p{i}");
            Assert.Equal(HttpStatusCode.OK, put.StatusCode);
            return (await put.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("version").GetInt64();
        }).ToList();
        var reload = prox.Host.Reloader!.ReloadAsync("test");
        var numbers = (await Task.WhenAll(puts)).Append((await reload).Version!.Number).Order().ToArray();

        Assert.Equal([2L, 3, 4, 5, 6, 7, 8], numbers);
        var versions = await Versions(prox);
        Assert.Equal(8, versions.Length);
        // whichever apply ran last is what runs: the runtime config and the current version agree
        var current = await GetJson(prox, "/admin/config");
        Assert.Equal(8, current.GetProperty("version").GetInt64());
        Assert.Equal(prox.Host.App.Services.GetRequiredService<Prox.Http.Runtime.ProxRuntime>().Config.SourceText, current.GetProperty("text").GetString());
    }

    [Fact]
    public async Task Diff_UnifiedDiffAndChangedPaths()
    {
        await using var a = await TestBackend.StartAsync("a");
        await using var b = await TestBackend.StartAsync("b");
        await using var prox = await ProxUnderTest.StartAsync(Route(a));
        var two = $$"""
            routes.api {
              backend-header = true
              backends = [ { id = a, url = "{{a.Url}}" }, { id = b, url = "{{b.Url}}", weight = 3 } ]
            }
            """;
        using (var put = await Put(prox, prox.ConfigTextFor(two))) Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        using (var put = await Put(prox, prox.ConfigTextFor(two.Replace("weight = 3", "weight = 5")))) Assert.Equal(HttpStatusCode.OK, put.StatusCode);

        var diff = await GetJson(prox, "/admin/config/diff?from=2&to=3");
        var unified = diff.GetProperty("unified").GetString()!;

        Assert.Equal(2, diff.GetProperty("from").GetInt64());
        Assert.Equal(3, diff.GetProperty("to").GetInt64());
        Assert.StartsWith("--- version 2\n+++ version 3\n@@ -", unified);
        Assert.Contains($"\n-  backends = [ {{ id = a, url = \"{a.Url}\" }}, {{ id = b, url = \"{b.Url}\", weight = 3 }} ]\n", unified);
        Assert.Contains($"\n+  backends = [ {{ id = a, url = \"{a.Url}\" }}, {{ id = b, url = \"{b.Url}\", weight = 5 }} ]\n", unified);
        Assert.Equal(["prox.routes.api.backends[1].weight"], diff.GetProperty("changed").EnumerateArray().Select(c => c.GetString()));
        Assert.Equal(["prox.routes.api.backends[1]"],
            (await GetJson(prox, "/admin/config/diff?from=1&to=2")).GetProperty("changed").EnumerateArray().Select(c => c.GetString()));
        using var unknown = await prox.Admin.GetAsync("/admin/config/diff?from=1&to=99");
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
    }

    [Fact]
    public async Task Put_Invalid_422WithEveryErrorAndPath_NothingChanged_NonText415()
    {
        await using var a = await TestBackend.StartAsync("a");
        await using var prox = await ProxUnderTest.StartAsync(Route(a));
        var bad = prox.ConfigTextFor("""
            routes.api {
              load-balancng = round-robin
              backends = [ { url = "http://127.0.0.1:5001", weight = 0 }, { url = "not a url" } ]
            }
            """);

        using var put = await Put(prox, bad);

        Assert.Equal(HttpStatusCode.UnprocessableEntity, put.StatusCode);
        Assert.Equal("application/problem+json", put.Content.Headers.ContentType!.MediaType);
        var errors = (await put.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors").EnumerateArray().Select(e => e.GetString()!).ToList();
        Assert.Equal(3, errors.Count);
        Assert.Contains(errors, e => e.StartsWith("prox.routes.api.load-balancng: unknown key"));
        Assert.Contains(errors, e => e.StartsWith("prox.routes.api.backends[0].weight:"));
        Assert.Contains(errors, e => e.StartsWith("prox.routes.api.backends[1].url:"));
        Assert.Single(await Versions(prox));
        Assert.Equal("hello from a", await Served(prox));

        using var binary = new HttpRequestMessage(HttpMethod.Put, "/admin/config") { Content = new ByteArrayContent([1, 2, 3]) };
        binary.Content.Headers.ContentType = new("application/octet-stream");
        using var resp = await prox.Admin.SendAsync(binary);
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, resp.StatusCode);
        using var json = await Put(prox, """{ "prox": { "routes": { "api": { "backends": [ { "url": "http://127.0.0.1:1" } ] } } } }""", type: "application/json");
        Assert.Equal(HttpStatusCode.OK, json.StatusCode); // JSON is HOCON
        var reply = await json.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Contains("prox.listen", reply.GetProperty("restartNeeded").EnumerateArray().Select(k => k.GetString()));
    }

    [Fact]
    public async Task Rollback_TrafficGoesWhereThatVersionSays_IsANewVersion_UnknownIs404()
    {
        await using var a = await TestBackend.StartAsync("a");
        await using var b = await TestBackend.StartAsync("b");
        await using var prox = await ProxUnderTest.StartAsync(Route(a));
        using (var put = await Put(prox, prox.ConfigTextFor(Route(b)))) Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        Assert.Equal("hello from b", await Served(prox));

        using var rollback = await prox.Admin.PostAsync("/admin/config/rollback?to=1", null);

        Assert.Equal(HttpStatusCode.OK, rollback.StatusCode);
        var body = await rollback.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal((3L, "rollback", "anonymous-loopback", "rollback to 1"), Meta(body));
        for (var i = 0; i < 5; i++) Assert.Equal("hello from a", await Served(prox));
        var current = await GetJson(prox, "/admin/config");
        Assert.Equal(3, current.GetProperty("version").GetInt64());
        Assert.Equal((await GetJson(prox, "/admin/config/versions/1")).GetProperty("text").GetString(), current.GetProperty("text").GetString());

        using var unknown = await prox.Admin.PostAsync("/admin/config/rollback?to=42", null);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal("application/problem+json", unknown.Content.Headers.ContentType!.MediaType);
        using var unknownGet = await prox.Admin.GetAsync("/admin/config/versions/42");
        Assert.Equal(HttpStatusCode.NotFound, unknownGet.StatusCode);
    }

    [Fact]
    public async Task Rollback_ToAVersionThatNoLongerValidates_422_SaysWhy()
    {
        const string variable = "PROX_TEST_HISTORY_BACKEND";
        await using var a = await TestBackend.StartAsync("a");
        await using var prox = await ProxUnderTest.StartAsync(Route(a));
        Environment.SetEnvironmentVariable(variable, a.Url.ToString());
        try
        {
            var withEnv = prox.ConfigTextFor($$"""routes.api { backends = [ { id = a, url = ${{{variable}}} } ] }""");
            using (var put = await Put(prox, withEnv)) Assert.Equal(HttpStatusCode.OK, put.StatusCode);
            using (var put = await Put(prox, prox.ConfigTextFor(Route(a)))) Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        }
        finally
        {
            Environment.SetEnvironmentVariable(variable, null);
        }

        using var rollback = await prox.Admin.PostAsync("/admin/config/rollback?to=2", null);

        Assert.Equal(HttpStatusCode.UnprocessableEntity, rollback.StatusCode);
        var problem = await rollback.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Contains("Version 2 does not validate", problem.GetProperty("detail").GetString());
        Assert.Contains(problem.GetProperty("errors").EnumerateArray(), e => e.GetString()!.Contains(variable));
        Assert.Equal(3, (await GetJson(prox, "/admin/config")).GetProperty("version").GetInt64());
    }

    [Fact]
    public async Task Restart_FileUnchanged_ApiChangeSurvives_FileEditedWhileDown_FileWins()
    {
        using var data = new TempDataDir();
        await using var a = await TestBackend.StartAsync("a");
        await using var b = await TestBackend.StartAsync("b");
        await using var c = await TestBackend.StartAsync("c");
        var dir = Directory.CreateTempSubdirectory("prox-test-");
        try
        {
            var file = Path.Combine(dir.FullName, "prox.conf");
            await File.WriteAllTextAsync(file, ProxUnderTest.ConfigText(Route(a) + "\n" + data.Hocon));

            await using (var first = await ProxUnderTest.StartOnFileAsync(file))
            {
                using var put = await Put(first, ProxUnderTest.ConfigText(Route(b) + "\n" + data.Hocon), "?comment=b");
                Assert.Equal(HttpStatusCode.OK, put.StatusCode);
            }

            await using (var second = await ProxUnderTest.StartOnFileAsync(file))
            {
                Assert.Equal("hello from b", await Served(second)); // resumed version 2: the file did not change
                Assert.Equal((2L, "api", "anonymous-loopback", "b"), Meta(await GetJson(second, "/admin/config")));
                Assert.Equal(2, (await Versions(second)).Length);
            }

            await File.WriteAllTextAsync(file, ProxUnderTest.ConfigText(Route(c) + "\n" + data.Hocon));
            await using (var third = await ProxUnderTest.StartOnFileAsync(file))
            {
                Assert.Equal("hello from c", await Served(third)); // edited while down: the file wins
                Assert.Equal((3L, "file", "file", "read at start-up"), Meta(await GetJson(third, "/admin/config")));
                Assert.Equal([3L, 2, 1], (await Versions(third)).Select(v => v.GetProperty("version").GetInt64()));
            }
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task Retention_KeepThree_OldVersionsTrimmed_NumbersKeepIncreasingAcrossRestart()
    {
        using var data = new TempDataDir();
        await using var a = await TestBackend.StartAsync("a");
        var keep = "config-history.keep = 3\n" + data.Hocon;
        var text = (int i) => ProxUnderTest.ConfigText(Route(a, $"timeouts.request = {i}s") + "\n" + keep);
        var dir = Directory.CreateTempSubdirectory("prox-test-");
        try
        {
            var file = Path.Combine(dir.FullName, "prox.conf");
            await File.WriteAllTextAsync(file, ProxUnderTest.ConfigText(Route(a) + "\n" + keep));
            await using (var first = await ProxUnderTest.StartOnFileAsync(file))
            {
                for (var i = 1; i <= 6; i++)
                    using (var put = await Put(first, text(i))) Assert.Equal(HttpStatusCode.OK, put.StatusCode);
                Assert.Equal([7L, 6, 5], (await Versions(first)).Select(v => v.GetProperty("version").GetInt64()));
                using var trimmed = await first.Admin.GetAsync("/admin/config/versions/4");
                Assert.Equal(HttpStatusCode.NotFound, trimmed.StatusCode);
            }

            await using var second = await ProxUnderTest.StartOnFileAsync(file);
            Assert.Equal(7, (await GetJson(second, "/admin/config")).GetProperty("version").GetInt64());
            using (var put = await Put(second, text(8))) Assert.Equal(HttpStatusCode.OK, put.StatusCode);
            Assert.Equal([8L, 7, 6], (await Versions(second)).Select(v => v.GetProperty("version").GetInt64()));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    /// <summary>Runs <c>prox config …</c> in this process (the verbs' code, with output captured).</summary>
    private static async Task<(int ExitCode, string Stdout, string Stderr)> Cli(params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var code = await Prox.Hosting.Cli.ProxCli.RunAsync(["config", .. args], stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }

    [Fact]
    public async Task Cli_HistoryShowDiffRollback_AgainstTheAdminApi()
    {
        await using var a = await TestBackend.StartAsync("a");
        await using var b = await TestBackend.StartAsync("b");
        await using var prox = await ProxUnderTest.StartAsync(Route(a));
        using (var put = await Put(prox, prox.ConfigTextFor(Route(b)), "?comment=to%20b")) Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        var admin = prox.Host.AdminUrls[0].ToString();

        // the real executable once (verb dispatch, exit code), the rest in this process
        var history = await ProxProcess.RunToExitAsync("config", "history", "--admin", admin);
        Assert.Equal(0, history.ExitCode);
        var rows = history.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("VERSION", rows[0].Trim());
        Assert.Matches(@"^\s+2\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s+api\s+anonymous-loopback\s+\d+\s+to b$", rows[1]);
        Assert.Matches(@"^\s+1\s+.*\bfile\s+file\s+\d+\s+first start$", rows[2]);

        var show = await Cli("show", "1", "--admin", admin);
        Assert.Equal(0, show.ExitCode);
        Assert.Equal((await GetJson(prox, "/admin/config/versions/1")).GetProperty("text").GetString()!.TrimEnd(), show.Stdout.TrimEnd());
        Assert.StartsWith("# version 1: file by file at ", show.Stderr);

        var diff = await Cli("diff", "1", "2", "--admin", admin);
        Assert.Equal(0, diff.ExitCode);
        Assert.Contains("--- version 1", diff.Stdout);
        Assert.Contains("  prox.routes.api.backends[0].id", diff.Stdout);

        var rollback = await Cli("rollback", "1", "--comment", "cli", "--admin", admin, "--token", "t0k");
        Assert.Equal(0, rollback.ExitCode);
        Assert.Contains("now version 3", rollback.Stdout);
        Assert.Equal("hello from a", await Served(prox));
        Assert.Equal((3L, "rollback", "anonymous-loopback", "rollback to 1: cli"), Meta(await GetJson(prox, "/admin/config")));

        var missing = await Cli("rollback", "42", "--admin", admin);
        Assert.Equal(1, missing.ExitCode);
        Assert.Contains("404 Unknown version: Version 42 does not exist", missing.Stderr);
        Assert.Equal(2, (await Cli("diff", "1", "--admin", admin)).ExitCode);
        Assert.Equal(2, (await Cli("history", "--bogus")).ExitCode);
        var down = await Cli("history", "--admin", "http://127.0.0.1:1");
        Assert.Equal(1, down.ExitCode);
        Assert.Contains("cannot reach the admin API", down.Stderr);
    }
}
