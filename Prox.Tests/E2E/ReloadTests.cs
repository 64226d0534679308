using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Prox.Http;
using Prox.Http.Runtime;
using Prox.Tests.Infrastructure;
using Xunit;

namespace Prox.Tests.E2E;

/// <summary>Hot reload over real sockets: what a reload keeps, starts and drains, and that traffic never notices.</summary>
public class ReloadTests
{
    private static string Route(string name, string prefix, string backends, string extra = "") => $$"""
        routes.{{name}} {
          match.path-prefix = "{{prefix}}"
          backend-header = true
          backends = [ {{backends}} ]
          {{extra}}
        }

        """;

    private static string B(string id, TestBackend b, int weight = 1) => $"{{ id = {id}, url = \"{b.Url}\", weight = {weight} }}\n";

    [Fact]
    public async Task TwentyReloadsOfEveryKind_UnderSteadyLoad_ZeroErrors_KeptBackendsKeepTheirState()
    {
        await using var a = await TestBackend.StartAsync("a");
        await using var b = await TestBackend.StartAsync("b");
        await using var c = await TestBackend.StartAsync("c");
        var stable = Route("api", "/", B("a", a) + B("b", b));
        await using var prox = await ProxUnderTest.StartFromFileAsync(stable);

        using var cts = new CancellationTokenSource();
        var ok = 0;
        var errors = new List<string>();
        var load = Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
        {
            while (!cts.IsCancellationRequested)
            {
                using var resp = await prox.Client.GetAsync("/x");
                if (resp.StatusCode == HttpStatusCode.OK) Interlocked.Increment(ref ok);
                else
                {
                    var body = await resp.Content.ReadAsStringAsync();
                    lock (errors) errors.Add($"{(int)resp.StatusCode} {body}");
                }
            }
        })).ToArray();
        await ProxUnderTest.EventuallyAsync(() => Task.FromResult(Volatile.Read(ref ok) > 50), what: "load running");

        // every kind of change, in turn: reweight, add/remove a backend, change the policy and timeouts, add/remove a route
        string[] configs =
        [
            Route("api", "/", B("a", a, 3) + B("b", b)),
            Route("api", "/", B("a", a, 3) + B("b", b) + B("c", c)),
            Route("api", "/", B("a", a) + B("b", b) + B("c", c), "load-balancing = least-connections"),
            Route("api", "/", B("a", a) + B("b", b), "load-balancing = least-connections, timeouts.request = 10s"),
            Route("api", "/", B("a", a) + B("b", b)) + Route("extra", "/extra", B("c", c)),
            stable,
        ];
        long aRequests = 0;
        for (var i = 0; i < 20; i++)
        {
            var result = await prox.ReloadAsync(configs[i % configs.Length]);
            Assert.True(result.Ok, string.Join("; ", result.Errors));
            // a is in every config, unchanged but for its weight: its counters only ever grow
            var now = (await prox.BackendStatusAsync("api", "a")).GetProperty("requests").GetInt64();
            Assert.True(now >= aRequests, $"reload {i}: a's request count went from {aRequests} to {now}");
            aRequests = now;
            var before = Volatile.Read(ref ok);
            await ProxUnderTest.EventuallyAsync(() => Task.FromResult(Volatile.Read(ref ok) > before + 10), what: $"serving after reload {i}");
        }

        cts.Cancel();
        await Task.WhenAll(load);
        Assert.Empty(errors);
        Assert.Equal(20, prox.Host.Reloader!.Reloads);
        Assert.Equal(20, (await Kinds(prox)).Count(k => k == "config-applied"));
    }

    [Fact]
    public async Task Reweight_KeepsStateAndActor_AddedBackendStarts_RemovedBackendDrainsAndGoes()
    {
        await using var a = await TestBackend.StartAsync("a");
        await using var b = await TestBackend.StartAsync("b");
        await using var c = await TestBackend.StartAsync("c");
        await using var prox = await ProxUnderTest.StartFromFileAsync(
            Route("api", "/", B("a", a) + B("b", b), "load-balancing = weighted-round-robin"));
        for (var i = 0; i < 10; i++) (await prox.Client.GetAsync("/")).Dispose();
        var aBefore = await prox.BackendStatusAsync("api", "a");

        var result = await prox.ReloadAsync(Route("api", "/", B("a", a, 4) + B("c", c), "load-balancing = weighted-round-robin"));

        Assert.True(result.Ok);
        var update = Assert.Single(result.Changes!.Routes);
        Assert.Equal(("api", 1, 1, 0, 1), (update.RouteId, update.Added, update.Removed, update.Replaced, update.Reweighted));
        var backends = (await prox.StatusAsync()).GetProperty("routes")[0].GetProperty("backends").EnumerateArray()
            .Select(x => (x.GetProperty("id").GetString(), x.GetProperty("weight").GetInt32())).ToArray();
        Assert.Equal([("a", 4), ("c", 1)], backends);
        var aAfter = await prox.BackendStatusAsync("api", "a");
        Assert.Equal(aBefore.GetProperty("requests").GetInt64(), aAfter.GetProperty("requests").GetInt64()); // same actor, same counters

        // the new weights are in force: 4:1 over 10 requests, and b gets nothing any more
        var bHits = b.Hits;
        var used = new List<string>();
        for (var i = 0; i < 10; i++)
        {
            using var resp = await prox.Client.GetAsync("/");
            used.Add(resp.Headers.GetValues("X-Backend-Used").Single());
        }
        Assert.Equal(8, used.Count(u => u == "a"));
        Assert.Equal(2, used.Count(u => u == "c"));
        Assert.Equal(bHits, b.Hits);
    }

    [Fact]
    public async Task SameText_WithHealthBreakerAndRecovery_NothingChanges_StateKept()
    {
        await using var a = await TestBackend.StartAsync("a");
        await using var b = await TestBackend.StartAsync("b");
        var extra = """
            health { interval = 200ms, timeout = 100ms, expect.status = ["200-299", "404"] }
            breaker { consecutive-failures = 3 }
            recovery { after = 1m, command = ["/bin/true"] }
            retries.on = [connect-failure, 503]
            match.hosts = ["*.example.com", "localhost", "127.0.0.1"]
            """;
        var text = Route("api", "/", B("a", a) + B("b", b), extra);
        await using var prox = await ProxUnderTest.StartFromFileAsync(text);
        await ProxUnderTest.EventuallyAsync(async () =>
            (await prox.BackendStatusAsync("api", "a")).GetProperty("health").GetProperty("checks").GetInt32() >= 2, what: "probing");

        // the same text parsed again is the same config: arrays inside it compare by value
        var same = await prox.ReloadAsync(text);
        Assert.True(same.Ok);
        Assert.Empty(same.Changes!.Changed);

        // a reweight keeps the health history (no fresh actor)
        var checks = (await prox.BackendStatusAsync("api", "a")).GetProperty("health").GetProperty("checks").GetInt32();
        var reweighted = await prox.ReloadAsync(Route("api", "/", B("a", a, 2) + B("b", b), extra));
        var update = Assert.Single(reweighted.Changes!.Routes);
        Assert.Equal((0, 0, 0, 1), (update.Added, update.Removed, update.Replaced, update.Reweighted));
        Assert.True((await prox.BackendStatusAsync("api", "a")).GetProperty("health").GetProperty("checks").GetInt32() >= checks);
    }

    [Fact]
    public async Task DrainFlag_BackendKeptButGetsNoNewRequests_UndrainBringsItBack()
    {
        await using var a = await TestBackend.StartAsync("a");
        await using var b = await TestBackend.StartAsync("b");
        await using var prox = await ProxUnderTest.StartFromFileAsync(Route("api", "/", B("a", a) + B("b", b)));
        for (var i = 0; i < 4; i++) (await prox.Client.GetAsync("/")).Dispose();
        var requests = (await prox.BackendStatusAsync("api", "b")).GetProperty("requests").GetInt64();

        var drained = await prox.ReloadAsync(Route("api", "/", B("a", a) + $"{{ id = b, url = \"{b.Url}\", drain = true }}\n"));
        Assert.Equal((0, 0, 0), (drained.Changes!.Routes[0].Added, drained.Changes.Routes[0].Removed, drained.Changes.Routes[0].Replaced));

        var hits = b.Hits;
        for (var i = 0; i < 6; i++) (await prox.Client.GetAsync("/")).Dispose();
        Assert.Equal(hits, b.Hits);
        var status = await prox.BackendStatusAsync("api", "b");
        Assert.Equal(("draining", false, requests), (status.GetProperty("state").GetString(), status.GetProperty("healthy").GetBoolean(),
            status.GetProperty("requests").GetInt64()));

        await prox.ReloadAsync(Route("api", "/", B("a", a) + B("b", b)));
        for (var i = 0; i < 4; i++) (await prox.Client.GetAsync("/")).Dispose();
        Assert.True(b.Hits > hits);
    }

    [Fact]
    public async Task RemovedBackend_InFlightRequestFinishes_ThenItsActorStops()
    {
        var release = new TaskCompletionSource();
        await using var slow = await TestBackend.StartAsync("slow", async ctx =>
        {
            await release.Task;
            await ctx.Response.WriteAsync("done");
        });
        await using var fast = await TestBackend.StartAsync("fast");
        await using var prox = await ProxUnderTest.StartFromFileAsync(Route("api", "/", B("slow", slow)));

        var inFlight = prox.Client.GetAsync("/");
        await ProxUnderTest.EventuallyAsync(async () =>
            (await prox.BackendStatusAsync("api", "slow")).GetProperty("inFlight").GetInt32() == 1, what: "request in flight");

        var result = await prox.ReloadAsync(Route("api", "/", B("fast", fast)));
        Assert.True(result.Ok);
        using (var next = await prox.Client.GetAsync("/"))
            Assert.Equal("fast", next.Headers.GetValues("X-Backend-Used").Single()); // no new request reaches the removed one

        release.SetResult();
        using var finished = await inFlight;
        Assert.Equal(HttpStatusCode.OK, finished.StatusCode);
        Assert.Equal("done", await finished.Content.ReadAsStringAsync());
        var ids = (await prox.StatusAsync()).GetProperty("routes")[0].GetProperty("backends").EnumerateArray()
            .Select(x => x.GetProperty("id").GetString()!).ToArray();
        Assert.Equal(["fast"], ids);
    }

    [Fact]
    public async Task InvalidReload_RejectedWithEveryError_EventEmitted_TrafficUnaffected()
    {
        await using var a = await TestBackend.StartAsync("a");
        var good = Route("api", "/", B("a", a));
        await using var prox = await ProxUnderTest.StartFromFileAsync(good);

        var result = await prox.ReloadAsync("""
            routes.api {
              load-balancing = fastest
              backends = [ { url = "ftp://x" } ]
              tmeouts { request = 1s }
            }
            """);

        Assert.False(result.Ok);
        Assert.Contains(result.Errors, e => e.StartsWith("prox.routes.api.load-balancing:", StringComparison.Ordinal));
        Assert.Contains(result.Errors, e => e.StartsWith("prox.routes.api.backends[0].url:", StringComparison.Ordinal));
        Assert.Contains(result.Errors, e => e.StartsWith("prox.routes.api.tmeouts:", StringComparison.Ordinal));
        using (var resp = await prox.Client.GetAsync("/"))
            Assert.Equal(HttpStatusCode.OK, resp.StatusCode); // the last good config keeps serving
        var rejected = (await Events(prox)).Single(e => e.GetProperty("kind").GetString() == "config-rejected");
        Assert.Contains("3 errors", rejected.GetProperty("detail").GetString());

        // the admin endpoint says the same, as problem+json
        using var admin = await prox.Admin.PostAsync("/admin/config/reload", null);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, admin.StatusCode);
        Assert.Equal("application/problem+json", admin.Content.Headers.ContentType?.MediaType);
        var problem = await admin.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(3, problem.GetProperty("errors").GetArrayLength());
    }

    [Fact]
    public async Task FileChanged_WatcherReloads_NewRouteServes()
    {
        await using var a = await TestBackend.StartAsync("a");
        await using var b = await TestBackend.StartAsync("b");
        await using var prox = await ProxUnderTest.StartFromFileAsync(Route("api", "/api", B("a", a)), watch: true);
        using (var before = await prox.Client.GetAsync("/web"))
            Assert.Equal(HttpStatusCode.NotFound, before.StatusCode);

        await prox.WriteConfigAsync(Route("api", "/api", B("a", a)) + Route("web", "/web", B("b", b)));

        await ProxUnderTest.EventuallyAsync(async () =>
        {
            using var resp = await prox.Client.GetAsync("/web");
            return resp.StatusCode == HttpStatusCode.OK;
        }, what: "route added by the watcher serves");
        // the route serves as soon as it is applied; the event follows once the version is recorded
        await ProxUnderTest.EventuallyAsync(async () => (await Kinds(prox)).Contains("config-applied"), what: "config-applied event");
    }

    [Fact]
    public async Task AdminReload_AppliesTheFile_ReportsRestartNeededKeys()
    {
        await using var a = await TestBackend.StartAsync("a");
        await using var prox = await ProxUnderTest.StartFromFileAsync(Route("api", "/", B("a", a)));
        await File.WriteAllTextAsync(prox.ConfigFile!, $$"""
            prox {
              listen = "127.0.0.1:0"
              admin.listen = "127.0.0.1:0"
              limits.max-request-body = 1MB
              {{Route("api", "/", B("a", a, 2))}}
              {{prox.DataHocon}}
            }
            """);

        using var resp = await prox.Admin.PostAsync("/admin/config/reload", null);

        Assert.Equal(HttpStatusCode.OK, resp.StatusCode);
        var body = await resp.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(["prox.limits"], body.GetProperty("restartNeeded").EnumerateArray().Select(x => x.GetString()));
        Assert.Equal(2, (await prox.BackendStatusAsync("api", "a")).GetProperty("weight").GetInt32());
    }

    [PostgresFact]
    public async Task Reload_EnablingCluster_RestartNeeded_StaysStandalone()
    {
        // cluster mode needs PostgreSQL, so this Prox runs on it from the start
        using var db = new PgTestDatabase();
        await using var a = await TestBackend.StartAsync("a");
        await using var prox = await ProxUnderTest.StartFromFileAsync(Route("api", "/", B("a", a)) + "\n" + db.Hocon);

        var result = await prox.ReloadAsync(Route("api", "/", B("a", a)) + "\n" + db.Hocon + "\ncluster { enabled = true, port = 0, seed-nodes = [] }");

        Assert.True(result.Ok, string.Join("; ", result.Errors));
        Assert.Equal(["prox.cluster"], result.RestartNeeded.ToArray());
        Assert.False((await prox.StatusAsync()).TryGetProperty("cluster", out _));
        Assert.False(prox.Host.App.Services.GetRequiredService<ProxRuntime>().Config.Cluster.Enabled);
    }

    private static async Task<JsonElement[]> Events(ProxUnderTest prox)
    {
        var page = await prox.Admin.GetFromJsonAsync<JsonElement>("/admin/events?limit=1000");
        return [.. page.GetProperty("events").EnumerateArray()];
    }

    private static async Task<string[]> Kinds(ProxUnderTest prox) =>
        (await Events(prox)).Select(e => e.GetProperty("kind").GetString()!).ToArray();
}
