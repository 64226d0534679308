using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Prox.Tests.Infrastructure;
using Xunit;

namespace Prox.Tests.E2E;

/// <summary>A pooled connection the backend closed while idle is not the backend's failure: the request goes once more
/// on a connection of its own, and nothing counts towards ejection. Panic is off here, so an ejection would show.</summary>
public class IdleConnectionTests
{
    /// <summary>One backend <c>a</c>, no retries, ejected by one failure, no panic: any failure counted would show.</summary>
    private static Task<ProxUnderTest> StartProxAsync(string origin) => ProxUnderTest.StartAsync($$"""
        routes.r {
          backends = [ { id = a, url = "{{origin}}" } ]
          retries { attempts = 0 }
          passive { failures-to-eject = 1, eject-for = 30s, panic-threshold = 0% }
        }
        """);

    private static async Task AssertNoFailureCountedAsync(ProxUnderTest prox)
    {
        var a = await prox.BackendStatusAsync("r", "a");
        Assert.Equal("up", a.GetProperty("state").GetString());
        Assert.Equal(0, a.GetProperty("failures").GetInt64());
    }

    [Fact]
    public async Task OriginResetsKeptAliveConnections_No502_NoEjection()
    {
        await using var origin = new ResettingBackend(resetReused: true);
        await using var prox = await StartProxAsync(origin.Url.ToString());

        for (var i = 0; i < 10; i++)
        {
            using var get = await prox.Client.GetAsync("/");
            Assert.Equal(HttpStatusCode.OK, get.StatusCode);
            // a bodiless POST was never carried to the backend either: it goes again too
            using var post = await prox.Client.PostAsync("/", null);
            Assert.Equal(HttpStatusCode.OK, post.StatusCode);
        }
        Assert.True(origin.Resets > 0, "no kept-alive connection was reused: the test proved nothing");
        await AssertNoFailureCountedAsync(prox);
    }

    [Fact]
    public async Task KestrelWithOneSecondKeepAlive_IdleGaps_No502_NoEjection()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Limits.KeepAliveTimeout = TimeSpan.FromSeconds(1);
            k.Listen(IPAddress.Loopback, 0);
        });
        await using var app = builder.Build();
        app.Run(ctx => ctx.Response.WriteAsync("ok"));
        await app.StartAsync();
        await using var prox = await StartProxAsync(app.Urls.First());

        for (var i = 0; i < 4; i++)
        {
            using var resp = await prox.Client.GetAsync("/");
            Assert.Equal(HttpStatusCode.OK, resp.StatusCode);
            // the gap is the point: the origin closes the pooled connection around the time the next request takes it
            await Task.Delay(TimeSpan.FromMilliseconds(900 + 100 * i));
        }
        await AssertNoFailureCountedAsync(prox);
        await app.StopAsync();
    }
}
