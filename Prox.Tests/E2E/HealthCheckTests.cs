using System.Net;
using System.Text.Json;
using Prox.Tests.Infrastructure;
using Xunit;

namespace Prox.Tests.E2E;

public class HealthCheckTests
{
    [Fact]
    public async Task FailingHealthEndpoint_BackendDown_NoTraffic_ThenUpAgain()
    {
        var bHealthy = true;
        await using var a = await TestBackend.StartAsync("a", ctx =>
            ctx.Response.WriteAsync(ctx.Request.Path == "/healthz" ? "ok" : "hello from a"));
        await using var b = await TestBackend.StartAsync("b", ctx =>
        {
            if (ctx.Request.Path == "/healthz")
            {
                ctx.Response.StatusCode = Volatile.Read(ref bHealthy) ? 200 : 503;
                return ctx.Response.WriteAsync(Volatile.Read(ref bHealthy) ? "ok" : "draining");
            }
            return ctx.Response.WriteAsync("hello from b");
        });
        await using var prox = await ProxUnderTest.StartAsync($$"""
            routes.r {
              backend-header = true
              health {
                path = "/healthz"
                interval = 150ms
                timeout = 100ms
                jitter = 0
                healthy-after = 2
                unhealthy-after = 2
                unhealthy-interval = 100ms
                max-unhealthy-interval = 200ms
                expect { status = ["2xx"], body-contains = "ok" }
              }
              backends = [ { id = a, url = "{{a.Url}}" }, { id = b, url = "{{b.Url}}" } ]
            }
            """);

        async Task<string> StateOf(string id) => (await prox.BackendStatusAsync("r", id)).GetProperty("state").GetString()!;
        await ProxUnderTest.EventuallyAsync(async () =>
            (await prox.BackendStatusAsync("r", "b")).GetProperty("health").GetProperty("checks").GetInt32() >= 2,
            what: "b probed");

        Volatile.Write(ref bHealthy, false);
        await ProxUnderTest.EventuallyAsync(async () => await StateOf("b") == "down", what: "b down");
        for (var i = 0; i < 20; i++)
        {
            using var resp = await prox.Client.GetAsync("/");
            Assert.Equal(HttpStatusCode.OK, resp.StatusCode);
            Assert.Equal("a", resp.Headers.GetValues("X-Backend-Used").Single());
        }
        var health = (await prox.BackendStatusAsync("r", "b")).GetProperty("health");
        Assert.False(health.GetProperty("healthy").GetBoolean());
        Assert.Equal(503, health.GetProperty("lastCheck").GetProperty("status").GetInt32());
        Assert.True(health.GetProperty("uptimePercent").GetDouble() < 100);

        Volatile.Write(ref bHealthy, true);
        await ProxUnderTest.EventuallyAsync(async () => await StateOf("b") == "up", what: "b up again");
        var served = new HashSet<string>();
        for (var i = 0; i < 4; i++)
        {
            using var resp = await prox.Client.GetAsync("/");
            served.Add(resp.Headers.GetValues("X-Backend-Used").Single());
        }
        Assert.Contains("b", served);

        var kinds = (await prox.StatusAsync()).GetProperty("events").EnumerateArray()
            .Select(e => e.GetProperty("kind").GetString()!).ToArray();
        Assert.Equal(["backend-down", "backend-up"], kinds);
    }

    [Fact]
    public async Task NoHealthBlock_NoProbes()
    {
        await using var a = await TestBackend.StartAsync("a");
        await using var prox = await ProxUnderTest.StartAsync($$"""routes.r { backends = [ { id = a, url = "{{a.Url}}" } ] }""");

        using var resp = await prox.Client.GetAsync("/x");
        var status = await prox.BackendStatusAsync("r", "a");

        Assert.False(status.TryGetProperty("health", out _));
        Assert.Equal(["/x"], a.Paths.ToArray()); // the only request the backend saw was the client's
    }
}
