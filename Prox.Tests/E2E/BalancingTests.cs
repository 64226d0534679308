using System.Net;
using Prox.Tests.Infrastructure;
using Xunit;

namespace Prox.Tests.E2E;

public class BalancingTests
{
    private static string Backends(params TestBackend[] bs) =>
        string.Join("\n", bs.Select(b => $"{{ id = {b.Name}, url = \"{b.Url}\" }}"));

    private static async Task<Dictionary<string, int>> CountBackendsAsync(HttpClient client, int n, string path = "/")
    {
        var counts = new Dictionary<string, int>();
        for (var i = 0; i < n; i++)
        {
            using var resp = await client.GetAsync(path);
            Assert.Equal(HttpStatusCode.OK, resp.StatusCode);
            var used = resp.Headers.GetValues("X-Backend-Used").Single();
            counts[used] = counts.GetValueOrDefault(used) + 1;
        }
        return counts;
    }

    [Fact]
    public async Task RoundRobin_ThreeBackends_SpreadsEvenly()
    {
        await using var a = await TestBackend.StartAsync("a");
        await using var b = await TestBackend.StartAsync("b");
        await using var c = await TestBackend.StartAsync("c");
        await using var prox = await ProxUnderTest.StartAsync($$"""
            routes.r { load-balancing = round-robin, backend-header = true, backends = [ {{Backends(a, b, c)}} ] }
            """);

        var counts = await CountBackendsAsync(prox.Client, 300);

        Assert.Equal(100, counts["a"]);
        Assert.Equal(100, counts["b"]);
        Assert.Equal(100, counts["c"]);
        Assert.Equal(100, a.Hits);
    }

    [Fact]
    public async Task WeightedRoundRobin_RespectsWeightsExactly()
    {
        await using var a = await TestBackend.StartAsync("a");
        await using var b = await TestBackend.StartAsync("b");
        await using var prox = await ProxUnderTest.StartAsync($$"""
            routes.r {
              load-balancing = weighted-round-robin, backend-header = true
              backends = [ { id = a, url = "{{a.Url}}", weight = 3 }, { id = b, url = "{{b.Url}}", weight = 1 } ]
            }
            """);

        var counts = await CountBackendsAsync(prox.Client, 400);

        Assert.Equal(300, counts["a"]);
        Assert.Equal(100, counts["b"]);
    }

    [Fact]
    public async Task LeastLatency_PrefersTheFastBackend()
    {
        await using var fast = await TestBackend.StartAsync("fast");
        await using var slow = await TestBackend.StartAsync("slow", async ctx =>
        {
            await Task.Delay(40);
            await ctx.Response.WriteAsync("slow");
        });
        await using var prox = await ProxUnderTest.StartAsync($$"""
            routes.r { load-balancing = least-latency, backend-header = true, backends = [ {{Backends(fast, slow)}} ] }
            """);

        // let both backends' actors learn their latency, then measure the split
        await CountBackendsAsync(prox.Client, 20);
        await ProxUnderTest.EventuallyAsync(async () =>
            (await prox.BackendStatusAsync("r", "slow")).GetProperty("latencyMs").GetProperty("ewma").GetDouble() > 20,
            what: "slow backend's latency learned");
        var counts = await CountBackendsAsync(prox.Client, 100);

        Assert.True(counts.GetValueOrDefault("fast") >= 80, $"fast got {counts.GetValueOrDefault("fast")} of 100");
    }

    [Fact]
    public async Task StatusEndpoint_ShowsRoutesBackendsAndCounters()
    {
        await using var a = await TestBackend.StartAsync("a");
        await using var prox = await ProxUnderTest.StartAsync($$"""
            routes.api {
              match { path-prefix = "/api" }
              load-balancing = least-connections
              backends = [ { id = a, url = "{{a.Url}}", weight = 2 } ]
            }
            """);
        for (var i = 0; i < 3; i++) (await prox.Client.GetAsync("/api/x")).EnsureSuccessStatusCode();

        await ProxUnderTest.EventuallyAsync(async () =>
            (await prox.BackendStatusAsync("api", "a")).GetProperty("requests").GetInt64() == 3, what: "3 requests counted");
        var status = await prox.StatusAsync();
        var route = status.GetProperty("routes")[0];
        var backend = route.GetProperty("backends")[0];

        Assert.False(string.IsNullOrEmpty(status.GetProperty("version").GetString()));
        Assert.True(status.GetProperty("uptimeSeconds").GetDouble() >= 0);
        Assert.True(status.GetProperty("process").GetProperty("rssBytes").GetInt64() > 0);
        Assert.Equal(1, route.GetProperty("eligible").GetInt32());
        Assert.Equal("api", route.GetProperty("name").GetString());
        Assert.Equal("least-connections", route.GetProperty("policy").GetString());
        Assert.Equal(a.Url.ToString(), backend.GetProperty("url").GetString());
        Assert.Equal(2, backend.GetProperty("weight").GetInt32());
        Assert.True(backend.GetProperty("healthy").GetBoolean());
        Assert.Equal("up", backend.GetProperty("state").GetString());
        Assert.Equal(0, backend.GetProperty("inFlight").GetInt32());
        Assert.Equal(0, backend.GetProperty("failures").GetInt64());
        var lat = backend.GetProperty("latencyMs");
        foreach (var p in new[] { "p50", "p95", "p99", "ewma" })
            Assert.True(lat.GetProperty(p).GetDouble() > 0, p);

        using var health = await prox.Admin.GetAsync("/healthz");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
    }
}
