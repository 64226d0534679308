using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Prox.Tests.Infrastructure;
using Xunit;

namespace Prox.Tests.Cluster;

/// <summary>Cluster mode: each backend's actor is a sharded entity owned by one node; every node's routes follow it.</summary>
[Collection(ClusterCollections.InProcess)]
public sealed class ShardedBackendsTests
{
    private const int IntervalMs = 200;

    private static string Routes(TestBackend a, TestBackend b) => $$"""
        routes.r {
          backend-header = true
          health {
            path = "/healthz"
            interval = {{IntervalMs}}ms
            timeout = 150ms
            jitter = 0
            healthy-after = 2
            unhealthy-after = 2
            unhealthy-interval = 100ms
            max-unhealthy-interval = 200ms
          }
          backends = [ { id = a, url = "{{a.Url}}" }, { id = b, url = "{{b.Url}}" } ]
        }
        """;

    private static Task<TestBackend> Backend(string name, Func<bool>? healthy = null) =>
        TestBackend.StartAsync(name, ctx =>
        {
            if (ctx.Request.Path != "/healthz") return ctx.Response.WriteAsync($"hello from {name}");
            var ok = healthy?.Invoke() ?? true;
            ctx.Response.StatusCode = ok ? 200 : 503;
            return ctx.Response.WriteAsync(ok ? "ok" : "down");
        });

    private static int Probes(TestBackend b) => b.Paths.Count(p => p == "/healthz");

    /// <summary>(state, owner) of a backend as <paramref name="node"/>'s /status shows it.</summary>
    private static async Task<(string State, string? Owner)> View(ProxUnderTest node, string backend)
    {
        var s = await node.BackendStatusAsync("r", backend);
        return (s.GetProperty("state").GetString()!, s.TryGetProperty("owner", out var o) ? o.GetString() : null);
    }

    /// <summary>Waits until every running node shows <paramref name="backend"/> in <paramref name="state"/> with one
    /// owner among the running nodes; returns that owner.</summary>
    private static async Task<string> AgreedAsync(TestCluster cluster, string backend, string state, string what)
    {
        string? owner = null;
        var addresses = cluster.Running.Select(n => n.Host.ClusterAddress).ToHashSet();
        await ProxUnderTest.EventuallyAsync(async () =>
        {
            var views = await Task.WhenAll(cluster.Running.Select(n => View(n, backend)));
            owner = views[0].Owner;
            return views.All(v => v.State == state && v.Owner == owner) && addresses.Contains(owner);
        }, TimeSpan.FromSeconds(20), what);
        return owner!;
    }

    [PostgresFact]
    public async Task ThreeNodes_OneOwnerPerBackend_OneProbeStream_SameStateEverywhere()
    {
        var bHealthy = true;
        await using var a = await Backend("a");
        await using var b = await Backend("b", () => Volatile.Read(ref bHealthy));
        await using var cluster = await TestCluster.StartAsync(3, Routes(a, b));

        var ownerA = await AgreedAsync(cluster, "a", "up", "every node shows a up with the same owner");
        await AgreedAsync(cluster, "b", "up", "every node shows b up with the same owner");
        var owned = new List<string>();
        foreach (var n in cluster.Running)
        {
            var backends = (await TestCluster.ClusterOf(n))!.Value.GetProperty("backends");
            owned.AddRange(backends.GetProperty("owned").EnumerateArray().Select(o => o.GetString()!));
            if (n.Host.ClusterAddress == ownerA) Assert.Contains("r/a", backends.GetProperty("owned").EnumerateArray().Select(o => o.GetString()));
        }
        Assert.Equal(["r/a", "r/b"], owned.Order(StringComparer.Ordinal).ToArray()); // each entity on exactly one node

        // one probe stream: three nodes probing would be three times the rate
        var before = Probes(a);
        var clock = Stopwatch.StartNew();
        await Task.Delay(TimeSpan.FromSeconds(2)); // the measurement window itself, not a wait for a condition
        var probes = Probes(a) - before;
        var oneStream = clock.Elapsed.TotalMilliseconds / IntervalMs;
        Assert.InRange(probes, 1, (int)Math.Ceiling(oneStream * 1.5));

        Volatile.Write(ref bHealthy, false);
        await AgreedAsync(cluster, "b", "down", "every node shows b down");
        foreach (var n in cluster.Running)
            for (var i = 0; i < 6; i++)
            {
                using var resp = await n.Client.GetAsync("/");
                Assert.Equal(HttpStatusCode.OK, resp.StatusCode);
                Assert.Equal("a", resp.Headers.GetValues("X-Backend-Used").Single());
            }

        Volatile.Write(ref bHealthy, true);
        await AgreedAsync(cluster, "b", "up", "every node shows b up again");
        foreach (var n in cluster.Running)
            await ProxUnderTest.EventuallyAsync(async () =>
            {
                using var resp = await n.Client.GetAsync("/");
                return resp.Headers.GetValues("X-Backend-Used").Single() == "b";
            }, what: "b serves again on every node");

        // propagation from the owner to the other nodes was measured on the nodes that do not own b
        var propagated = 0L;
        foreach (var n in cluster.Running)
            propagated += (await TestCluster.ClusterOf(n))!.Value.GetProperty("backends").GetProperty("propagation").GetProperty("changes").GetInt64();
        Assert.True(propagated >= 2, $"{propagated} changes propagated");
    }

    [PostgresFact]
    public async Task OwnerLeaves_BackendsMoveToSurvivors_ProbingResumes_NoFailedRequests()
    {
        await using var a = await Backend("a");
        await using var b = await Backend("b");
        await using var cluster = await TestCluster.StartAsync(3, Routes(a, b));
        var ownerA = await AgreedAsync(cluster, "a", "up", "every node shows a up with the same owner");
        var leaving = cluster.Nodes.FindIndex(n => n?.Host.ClusterAddress == ownerA);
        var survivors = cluster.Running.Where(n => n.Host.ClusterAddress != ownerA).ToArray();

        using var stop = new CancellationTokenSource();
        var failures = 0;
        var served = 0;
        var load = Task.WhenAll(survivors.Select(n => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                using var resp = await n.Client.GetAsync("/");
                if (resp.StatusCode == HttpStatusCode.OK) Interlocked.Increment(ref served);
                else Interlocked.Increment(ref failures);
            }
        })));

        await cluster.StopAsync(leaving);
        var newOwner = await AgreedAsync(cluster, "a", "up", "a owned by a survivor");
        Assert.NotEqual(ownerA, newOwner);
        var probes = Probes(a);
        await ProxUnderTest.EventuallyAsync(() => Task.FromResult(Probes(a) >= probes + 3), what: "a probed by its new owner");

        stop.Cancel();
        await load;
        Assert.Equal(0, failures);
        Assert.True(served > 0);
    }

    [PostgresFact]
    public async Task ABackendGoingDownAndUp_IsOneWebhookEach_FromItsOwner()
    {
        var bHealthy = true;
        await using var a = await Backend("a");
        await using var b = await Backend("b", () => Volatile.Read(ref bHealthy));
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var cluster = await TestCluster.StartAsync(3, Routes(a, b) + $$"""

            webhooks = [ { name = ops, url = "{{receiver.Url}}", events = [backend-down, backend-up], backoff = 50ms, max-backoff = 200ms } ]
            """);
        var owner = await AgreedAsync(cluster, "b", "up", "every node shows b up with the same owner");

        Volatile.Write(ref bHealthy, false);
        await AgreedAsync(cluster, "b", "down", "every node shows b down");
        Volatile.Write(ref bHealthy, true);
        await AgreedAsync(cluster, "b", "up", "every node shows b up again");
        await ProxUnderTest.EventuallyAsync(() => Task.FromResult(receiver.Types.Contains("backend-up")), what: "backend-up delivered");

        // one Notifier delivers in order: a second backend-down (from a second prober) would have come before the backend-up
        var deliveries = receiver.Deliveries.Select(d => d.Json).ToArray();
        Assert.Equal(["backend-down", "backend-up"], deliveries.Select(d => d.GetProperty("type").GetString()!).ToArray());
        Assert.All(deliveries, d => Assert.Equal(owner, d.GetProperty("node").GetString()));
    }

    [PostgresFact]
    public async Task OwnerLeaves_ADownBackendStaysDownUnderItsNewOwner_NoRequestReachesIt()
    {
        var bHealthy = true;
        await using var a = await Backend("a");
        await using var b = await Backend("b", () => Volatile.Read(ref bHealthy));
        await using var cluster = await TestCluster.StartAsync(3, Routes(a, b));
        await AgreedAsync(cluster, "b", "up", "every node shows b up");
        Volatile.Write(ref bHealthy, false);
        var owner = await AgreedAsync(cluster, "b", "down", "every node shows b down");
        int Served() => b.Paths.Count(p => p == "/");
        var served = Served();
        var leaving = cluster.Nodes.FindIndex(n => n?.Host.ClusterAddress == owner);
        var survivors = cluster.Running.Where(n => n.Host.ClusterAddress != owner).ToArray();

        using var stop = new CancellationTokenSource();
        var failures = 0;
        var load = Task.WhenAll(survivors.Select(n => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                using var resp = await n.Client.GetAsync("/");
                if (resp.StatusCode != HttpStatusCode.OK) Interlocked.Increment(ref failures);
            }
        })));

        await cluster.StopAsync(leaving);
        var newOwner = await AgreedAsync(cluster, "b", "down", "b down under its new owner");
        var probes = Probes(b);
        await ProxUnderTest.EventuallyAsync(() => Task.FromResult(Probes(b) >= probes + 3), what: "b probed by its new owner");
        stop.Cancel();
        await load;

        Assert.NotEqual(owner, newOwner);
        Assert.Equal(0, failures);
        // a new owner starting afresh would have taken b for healthy until two probes failed, and sent it requests
        Assert.Equal(served, Served());
        var health = (await survivors[0].BackendStatusAsync("r", "b")).GetProperty("health");
        Assert.True(health.GetProperty("checks").GetInt32() > 3, "the probe history came along");
    }
}
