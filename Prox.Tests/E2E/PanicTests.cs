using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Prox.Tests.Infrastructure;
using Xunit;

namespace Prox.Tests.E2E;

/// <summary>No outage of Prox's own making: the panic threshold keeps a route serving when passive ejection would
/// empty it, and active health checks still keep a dead backend out.</summary>
public class PanicTests
{
    private static async Task<JsonElement> RouteStatusAsync(ProxUnderTest prox, string route) =>
        (await prox.StatusAsync()).GetProperty("routes").EnumerateArray().Single(r => r.GetProperty("name").GetString() == route);

    [Fact]
    public async Task SingleBackend_ResetsFiveConnections_ThenServesAgainAtOnce()
    {
        await using var origin = new ResettingBackend(resetFirst: 5);
        await using var prox = await ProxUnderTest.StartAsync($$"""
            routes.r {
              backends = [ { id = a, url = "{{origin.Url}}" } ]
              retries { attempts = 0 }
              passive { failures-to-eject = 2, eject-for = 30s }
            }
            """);

        var statuses = new List<HttpStatusCode>();
        while (statuses.Count < 10 && !statuses.Contains(HttpStatusCode.OK))
        {
            using var resp = await prox.Client.GetAsync("/");
            statuses.Add(resp.StatusCode);
        }
        // the resets fail requests (502), the ejection they cause never answers 503: the first request after them is served
        Assert.Equal(HttpStatusCode.OK, statuses[^1]);
        Assert.All(statuses[..^1], s => Assert.Equal(HttpStatusCode.BadGateway, s));
        Assert.Equal(0, origin.ResetsLeft);
        for (var i = 0; i < 5; i++)
        {
            using var resp = await prox.Client.GetAsync("/");
            Assert.Equal(HttpStatusCode.OK, resp.StatusCode);
        }

        // the backend is still ejected (30 s); the route balances over it anyway
        Assert.Equal("ejected", (await prox.BackendStatusAsync("r", "a")).GetProperty("state").GetString());
        var route = await RouteStatusAsync(prox, "r");
        Assert.True(route.GetProperty("panic").GetBoolean());
        Assert.Equal(1, route.GetProperty("eligible").GetInt32());
        var kinds = (await prox.StatusAsync()).GetProperty("events").EnumerateArray().Select(e => e.GetProperty("kind").GetString()).ToArray();
        Assert.Contains("route-panic", kinds);
        Assert.DoesNotContain("pool-down", kinds);
    }

    [Fact]
    public async Task ThreeBackends_TwoEjected_StatusShowsPanic_AllThreeEligible()
    {
        using var dead1 = new DeadPort();
        using var dead2 = new DeadPort();
        await using var c = await TestBackend.StartAsync("c");
        await using var prox = await ProxUnderTest.StartAsync($$"""
            routes.r {
              backends = [ { id = a, url = "{{dead1.Url}}" }, { id = b, url = "{{dead2.Url}}" }, { id = c, url = "{{c.Url}}" } ]
              retries { attempts = 0 }
              passive { failures-to-eject = 1, eject-for = 30s }
            }
            """);

        await ProxUnderTest.EventuallyAsync(async () =>
        {
            using var _ = await prox.Client.GetAsync("/");
            return (await RouteStatusAsync(prox, "r")).GetProperty("panic").GetBoolean();
        }, what: "route in panic");
        var route = await RouteStatusAsync(prox, "r");
        Assert.Equal(3, route.GetProperty("eligible").GetInt32());
        Assert.Equal(["ejected", "ejected", "up"],
            route.GetProperty("backends").EnumerateArray().Select(b => b.GetProperty("state").GetString()));
    }

    [Fact]
    public async Task InPanic_ActiveHealthChecks_StillKeepADeadBackendOut()
    {
        var failing = 1;
        RequestDelegate handler = ctx =>
        {
            ctx.Response.StatusCode = Volatile.Read(ref failing) == 1 ? 503 : 200;
            return ctx.Response.WriteAsync("x");
        };
        using var dead = new DeadPort();
        await using var x = await TestBackend.StartAsync("x", handler);
        await using var y = await TestBackend.StartAsync("y", handler);
        // only the dead backend is probed: x and y have passive ejection alone, so nothing but time ends their ejection
        await using var prox = await ProxUnderTest.StartAsync($$"""
            routes.r {
              backend-header = true
              backends = [
                { id = dead, url = "{{dead.Url}}", health { path = "/healthz", interval = 150ms, timeout = 100ms, jitter = 0,
                    unhealthy-after = 1, unhealthy-interval = 100ms, max-unhealthy-interval = 200ms } }
                { id = x, url = "{{x.Url}}" }
                { id = y, url = "{{y.Url}}" }
              ]
              retries { attempts = 0 }
              passive { failures-to-eject = 1, eject-for = 30s }
            }
            """);
        await ProxUnderTest.EventuallyAsync(async () =>
            (await prox.BackendStatusAsync("r", "dead")).GetProperty("state").GetString() == "down", what: "dead reported down");

        // x and y answer 503 until both are ejected: one of three eligible, the route panics
        await ProxUnderTest.EventuallyAsync(async () =>
        {
            using var _ = await prox.Client.GetAsync("/");
            return (await prox.BackendStatusAsync("r", "x")).GetProperty("state").GetString() == "ejected"
                && (await prox.BackendStatusAsync("r", "y")).GetProperty("state").GetString() == "ejected";
        }, what: "x and y ejected");
        Volatile.Write(ref failing, 0);

        var route = await RouteStatusAsync(prox, "r");
        Assert.True(route.GetProperty("panic").GetBoolean());
        Assert.Equal(2, route.GetProperty("eligible").GetInt32());
        for (var i = 0; i < 20; i++)
        {
            using var resp = await prox.Client.GetAsync("/");
            Assert.Equal(HttpStatusCode.OK, resp.StatusCode);
            Assert.Contains(resp.Headers.GetValues("X-Backend-Used").Single(), new[] { "x", "y" });
        }
        Assert.Equal("down", (await prox.BackendStatusAsync("r", "dead")).GetProperty("state").GetString());
    }
}
