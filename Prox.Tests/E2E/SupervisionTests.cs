using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Prox.Tests.Infrastructure;
using Xunit;

namespace Prox.Tests.E2E;

public class SupervisionTests
{
    [Fact]
    public async Task CrashBackendAndRouteActors_UnderLoad_ZeroClientErrors_StateKept_RestartEventsEmitted()
    {
        var failing = 0;
        await using var a = await TestBackend.StartAsync("a");
        await using var b = await TestBackend.StartAsync("b", async ctx =>
        {
            ctx.Response.StatusCode = Volatile.Read(ref failing) == 1 ? 503 : 200;
            await ctx.Response.WriteAsync("b");
        });
        await using var prox = await ProxUnderTest.StartAsync($$"""
            admin.chaos = on
            routes.r {
              backends = [ { id = a, url = "{{a.Url}}" }, { id = b, url = "{{b.Url}}" } ]
              passive { failures-to-eject = 2, eject-for = 100ms }
            }
            """);

        using var cts = new CancellationTokenSource();
        var ok = 0;
        var errors = new List<HttpStatusCode>();
        var load = Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
        {
            while (!cts.IsCancellationRequested)
            {
                using var resp = await prox.Client.GetAsync("/");
                if (resp.StatusCode == HttpStatusCode.OK) Interlocked.Increment(ref ok);
                else lock (errors) errors.Add(resp.StatusCode);
            }
        })).ToArray();
        await ProxUnderTest.EventuallyAsync(() => Task.FromResult(Volatile.Read(ref ok) > 50), what: "load running");

        // give b a history a fresh actor would not have: an ejection and its failures
        Volatile.Write(ref failing, 1);
        await ProxUnderTest.EventuallyAsync(async () =>
            (await prox.BackendStatusAsync("r", "b")).GetProperty("ejections").GetInt32() >= 1, what: "b ejected");
        Volatile.Write(ref failing, 0);
        await ProxUnderTest.EventuallyAsync(async () =>
            (await prox.BackendStatusAsync("r", "b")).GetProperty("state").GetString() == "up", what: "b back");
        var before = await prox.BackendStatusAsync("r", "b");
        using (var crashBackend = await prox.Admin.PostAsync("/admin/chaos/crash?route=r&backend=b", null))
            Assert.Equal(HttpStatusCode.Accepted, crashBackend.StatusCode);
        await ProxUnderTest.EventuallyAsync(async () => (await Restarts(prox)).Contains(("r", "b")), what: "backend actor restarted");
        var afterFirst = Volatile.Read(ref ok);
        await ProxUnderTest.EventuallyAsync(() => Task.FromResult(Volatile.Read(ref ok) > afterFirst + 50), what: "serving after backend crash");
        AssertKept(before, await prox.BackendStatusAsync("r", "b"));

        using (var crashRoute = await prox.Admin.PostAsync("/admin/chaos/crash?route=r", null))
            Assert.Equal(HttpStatusCode.Accepted, crashRoute.StatusCode);
        await ProxUnderTest.EventuallyAsync(async () => (await Restarts(prox)).Contains(("r", null)), what: "route actor restarted");
        var afterSecond = Volatile.Read(ref ok);
        await ProxUnderTest.EventuallyAsync(() => Task.FromResult(Volatile.Read(ref ok) > afterSecond + 50), what: "serving after route crash");

        cts.Cancel();
        await Task.WhenAll(load);
        Assert.Empty(errors);
        Assert.Equal([("r", "b"), ("r", (string?)null)], await Restarts(prox));
        AssertKept(before, await prox.BackendStatusAsync("r", "b"));

        // the restarted route still balances over both backends
        var bBefore = b.Hits;
        for (var i = 0; i < 10; i++) (await prox.Client.GetAsync("/")).Dispose();
        Assert.True(b.Hits > bBefore);
    }

    /// <summary>The restarted backend actor carries on from its predecessor's state, not from zero.</summary>
    private static void AssertKept(JsonElement before, JsonElement after)
    {
        Assert.True(before.GetProperty("ejections").GetInt32() >= 1);
        Assert.Equal(before.GetProperty("ejections").GetInt32(), after.GetProperty("ejections").GetInt32());
        Assert.True(after.GetProperty("failures").GetInt64() >= before.GetProperty("failures").GetInt64());
        Assert.True(after.GetProperty("requests").GetInt64() >= before.GetProperty("requests").GetInt64());
    }

    private static async Task<(string?, string?)[]> Restarts(ProxUnderTest prox)
    {
        var events = await prox.Admin.GetFromJsonAsync<JsonElement>("/admin/events");
        return events.GetProperty("events").EnumerateArray()
            .Where(e => e.GetProperty("kind").GetString() == "actor-restarted")
            .Select(e => (e.GetProperty("route").GetString(), e.TryGetProperty("backend", out var be) ? be.GetString() : null))
            .ToArray();
    }

    [Theory]
    [InlineData("GET", "/admin/chaos/crash?route=r", "POST")]
    [InlineData("POST", "/status", "GET, HEAD")]
    [InlineData("DELETE", "/admin/events", "GET, HEAD")]
    public async Task AdminWrongMethod_405WithAllow(string method, string path, string allow)
    {
        await using var prox = await ProxUnderTest.StartAsync("""routes.r { backends = [ { url = "http://127.0.0.1:9" } ] }""");

        using var resp = await prox.Admin.SendAsync(new HttpRequestMessage(new HttpMethod(method), path));

        Assert.Equal(HttpStatusCode.MethodNotAllowed, resp.StatusCode);
        Assert.Equal(allow, string.Join(", ", resp.Content.Headers.Allow));
    }

    [Fact]
    public async Task Chaos_OffByDefault_403()
    {
        await using var prox = await ProxUnderTest.StartAsync("""routes.r { backends = [ { url = "http://127.0.0.1:9" } ] }""");

        using var resp = await prox.Admin.PostAsync("/admin/chaos/crash?route=r", null);

        Assert.Equal(HttpStatusCode.Forbidden, resp.StatusCode);
        Assert.Equal("application/problem+json", resp.Content.Headers.ContentType?.MediaType);
    }

    [Theory]
    [InlineData("/admin/chaos/crash?route=nope", HttpStatusCode.NotFound)]
    [InlineData("/admin/chaos/crash?route=r&backend=nope", HttpStatusCode.NotFound)]
    [InlineData("/admin/chaos/crash", HttpStatusCode.BadRequest)]
    public async Task Chaos_BadTarget_ProblemJson(string path, HttpStatusCode expected)
    {
        await using var prox = await ProxUnderTest.StartAsync("""
            admin.chaos = on
            routes.r { backends = [ { url = "http://127.0.0.1:9" } ] }
            """);

        using var resp = await prox.Admin.PostAsync(path, null);

        Assert.Equal(expected, resp.StatusCode);
        Assert.Equal("application/problem+json", resp.Content.Headers.ContentType?.MediaType);
    }
}
