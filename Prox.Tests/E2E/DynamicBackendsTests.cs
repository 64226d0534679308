using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Prox.Tests.Infrastructure;
using Xunit;

namespace Prox.Tests.E2E;

/// <summary>Adding, changing and removing backends at run time through the admin API, over real sockets.</summary>
public class DynamicBackendsTests
{
    private static string Config(TestBackend a) => $$"""
        routes.api {
          backend-header = true
          health { interval = 1s, timeout = 500ms }
          backends = [ { id = a, url = "{{a.Url}}" } ]
        }
        """;

    private static Prox.Http.Runtime.ProxRuntime Runtime(ProxUnderTest prox) =>
        prox.Host.App.Services.GetRequiredService<Prox.Http.Runtime.ProxRuntime>();

    private static StringContent Body(string json) => new(json, Encoding.UTF8, "application/json");

    private static async Task<string[]> Ids(ProxUnderTest prox) =>
        (await prox.StatusAsync()).GetProperty("routes")[0].GetProperty("backends").EnumerateArray()
            .Select(b => b.GetProperty("id").GetString()!).ToArray();

    [Fact]
    public async Task Post_AddsBackend_ItServes_InheritsRouteHealth_ThenPatchAndDelete()
    {
        await using var a = await TestBackend.StartAsync("a");
        await using var b = await TestBackend.StartAsync("b");
        await using var prox = await ProxUnderTest.StartFromFileAsync(Config(a));

        using var created = await prox.Admin.PostAsync("/admin/routes/api/backends", Body($$"""{ "id": "b", "url": "{{b.Url}}", "weight": 2 }"""));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.Equal("/admin/routes/api/backends/b", created.Headers.Location?.ToString());
        Assert.Equal(["a", "b"], await Ids(prox)); // appended: order stays as given
        await ProxUnderTest.EventuallyAsync(async () =>
            (await prox.BackendStatusAsync("api", "b")).TryGetProperty("health", out var h) && h.GetProperty("checks").GetInt32() > 0,
            what: "the new backend is probed with the route's health checks");
        var used = new List<string>();
        for (var i = 0; i < 6; i++)
        {
            using var resp = await prox.Client.GetAsync("/");
            used.Add(resp.Headers.GetValues("X-Backend-Used").Single());
        }
        Assert.Equal(3, used.Count(u => u == "b")); // round-robin (the route's policy): weight is kept but not used

        using (var patched = await prox.Admin.PatchAsync("/admin/routes/api/backends/b", Body("""{ "drain": true }""")))
        {
            Assert.Equal(HttpStatusCode.OK, patched.StatusCode);
            Assert.True((await patched.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("backend").GetProperty("drain").GetBoolean());
        }
        Assert.Equal("draining", (await prox.BackendStatusAsync("api", "b")).GetProperty("state").GetString());

        using (var deleted = await prox.Admin.DeleteAsync("/admin/routes/api/backends/b?drain-timeout=5s"))
            Assert.Equal(HttpStatusCode.Accepted, deleted.StatusCode);
        Assert.Equal(["a"], await Ids(prox));

        // each change was a config change: applied events, and the running text holds the route's new list
        var text = Runtime(prox).Config.SourceText!;
        Assert.Contains("# prox:dynamic-backends api", text);
        Assert.DoesNotContain(b.Url.ToString().TrimEnd('/'), text[text.IndexOf("# prox:dynamic-backends api", StringComparison.Ordinal)..]);
    }

    [Fact]
    public async Task Delete_InFlightRequestFinishes()
    {
        var release = new TaskCompletionSource();
        var arrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var slow = await TestBackend.StartAsync("slow", async ctx =>
        {
            arrived.TrySetResult();
            await release.Task;
            await ctx.Response.WriteAsync("done");
        });
        await using var a = await TestBackend.StartAsync("a");
        await using var prox = await ProxUnderTest.StartFromFileAsync($$"""
            routes.api { backends = [ { id = slow, url = "{{slow.Url}}" }, { id = a, url = "{{a.Url}}" } ], load-balancing = round-robin }
            """);
        // round-robin: within two requests one reaches slow and is held there
        Task<HttpResponseMessage>? inFlight = null;
        for (var i = 0; i < 2 && inFlight is null; i++)
        {
            var t = prox.Client.GetAsync("/");
            if (await Task.WhenAny(t, arrived.Task) == t) (await t).Dispose(); // went to a
            else inFlight = t;
        }
        Assert.NotNull(inFlight);

        using (var deleted = await prox.Admin.DeleteAsync("/admin/routes/api/backends/slow"))
            Assert.Equal(HttpStatusCode.Accepted, deleted.StatusCode);
        Assert.Equal(["a"], await Ids(prox));

        release.SetResult();
        using var finished = await inFlight!;
        Assert.Equal(HttpStatusCode.OK, finished.StatusCode);
        Assert.Equal("done", await finished.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData("POST", "/admin/routes/nope/backends", """{ "url": "http://127.0.0.1:1" }""", 404)]
    [InlineData("PATCH", "/admin/routes/api/backends/nope", """{ "weight": 2 }""", 404)]
    [InlineData("POST", "/admin/routes/api/backends", """{ "url": "ftp://x" }""", 422)]
    [InlineData("POST", "/admin/routes/api/backends", """{ "url": "http://127.0.0.1:1", "weight": 0 }""", 422)]
    [InlineData("POST", "/admin/routes/api/backends", """{ "id": "a", "url": "http://127.0.0.1:1" }""", 409)]
    [InlineData("POST", "/admin/routes/api/backends", """{ "url": "http://127.0.0.1:1", "recovery": { "command": ["/bin/sh"] } }""", 400)]
    [InlineData("POST", "/admin/routes/api/backends", """{ "url": """, 400)]
    [InlineData("PATCH", "/admin/routes/api/backends/a", """{ "url": "http://127.0.0.1:2" }""", 400)]
    [InlineData("DELETE", "/admin/routes/api/backends/a", null, 422)] // the last backend of a route
    [InlineData("GET", "/admin/routes/api/backends", null, 405)]
    public async Task BadRequests_ClearProblem_NothingChanged(string method, string path, string? body, int status)
    {
        await using var a = await TestBackend.StartAsync("a");
        await using var prox = await ProxUnderTest.StartFromFileAsync(Config(a));
        var before = Runtime(prox).Config.SourceText;

        using var req = new HttpRequestMessage(new HttpMethod(method), path) { Content = body is null ? null : Body(body) };
        using var resp = await prox.Admin.SendAsync(req);

        Assert.Equal(status, (int)resp.StatusCode);
        Assert.Equal("application/problem+json", resp.Content.Headers.ContentType?.MediaType);
        Assert.Same(before, Runtime(prox).Config.SourceText);
        if (status == 422)
            Assert.NotEqual(0, (await resp.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors").GetArrayLength());
    }

    [Fact]
    public async Task DynamicChanges_AreVersionsByTheTokenHolder_SurviveRestart_OrderKept()
    {
        using var data = new TempDataDir();
        await using var a = await TestBackend.StartAsync("a");
        await using var b = await TestBackend.StartAsync("b");
        await using var c = await TestBackend.StartAsync("c");
        var (token, hash) = Prox.Http.Admin.AdminAuth.NewToken();
        var dir = Directory.CreateTempSubdirectory("prox-test-");
        try
        {
            var file = Path.Combine(dir.FullName, "prox.conf");
            await File.WriteAllTextAsync(file, ProxUnderTest.ConfigText($$"""
                admin.tokens = [ { name = ops, sha256 = "{{hash}}", role = write } ]
                routes.api { backends = [ { id = a, url = "{{a.Url}}" } ] }
                {{data.Hocon}}
                """));

            await using (var first = await ProxUnderTest.StartOnFileAsync(file))
            {
                first.Admin.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
                foreach (var (id, be) in new[] { ("c", c), ("b", b) })
                    using (var add = await first.Admin.PostAsync("/admin/routes/api/backends", Body($$"""{ "id": "{{id}}", "url": "{{be.Url}}" }""")))
                        Assert.Equal(HttpStatusCode.Created, add.StatusCode);
                using (var patch = await first.Admin.PatchAsync("/admin/routes/api/backends/c", Body("""{ "weight": 7 }""")))
                    Assert.Equal(HttpStatusCode.OK, patch.StatusCode);

                var versions = await first.Admin.GetFromJsonAsync<JsonElement>("/admin/config/versions");
                var latest = versions.GetProperty("versions")[0];
                Assert.Equal(("api", "ops"), (latest.GetProperty("source").GetString(), latest.GetProperty("author").GetString()));
                Assert.Contains("'c'", latest.GetProperty("comment").GetString());
                Assert.Equal(4, versions.GetProperty("versions").GetArrayLength()); // start + 2 adds + 1 patch
            }

            // the file did not change: the latest version (with the dynamic backends) resumes, in the same order
            await using var second = await ProxUnderTest.StartOnFileAsync(file);
            second.Admin.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
            var backends = (await second.StatusAsync()).GetProperty("routes")[0].GetProperty("backends").EnumerateArray()
                .Select(x => (x.GetProperty("id").GetString()!, x.GetProperty("weight").GetInt32())).ToArray();
            Assert.Equal([("a", 1), ("c", 7), ("b", 1)], backends);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}
