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
    private const string Strict = "retries { attempts = 0 }\n passive { failures-to-eject = 1, eject-for = 30s, panic-threshold = 0% }";

    [Fact]
    public async Task OriginResetsKeptAliveConnections_No502_NoEjection()
    {
        await using var origin = new ResettingBackend(resetReused: true);
        await using var prox = await ProxUnderTest.StartAsync($$"""
            routes.r {
              backends = [ { id = a, url = "{{origin.Url}}" } ]
              {{Strict}}
            }
            """);

        for (var i = 0; i < 10; i++)
        {
            using var get = await prox.Client.GetAsync("/");
            Assert.Equal(HttpStatusCode.OK, get.StatusCode);
            // a bodiless POST was never carried to the backend either: it goes again too
            using var post = await prox.Client.PostAsync("/", null);
            Assert.Equal(HttpStatusCode.OK, post.StatusCode);
        }
        Assert.True(origin.Resets > 0, "no kept-alive connection was reused: the test proved nothing");
        var a = await prox.BackendStatusAsync("r", "a");
        Assert.Equal("up", a.GetProperty("state").GetString());
        Assert.Equal(0, a.GetProperty("failures").GetInt64());
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
        await using var prox = await ProxUnderTest.StartAsync($$"""
            routes.r {
              backends = [ { id = a, url = "{{app.Urls.First()}}" } ]
              {{Strict}}
            }
            """);

        for (var i = 0; i < 4; i++)
        {
            using var resp = await prox.Client.GetAsync("/");
            Assert.Equal(HttpStatusCode.OK, resp.StatusCode);
            // the gap is the point: the origin closes the pooled connection around the time the next request takes it
            await Task.Delay(TimeSpan.FromMilliseconds(900 + 100 * i));
        }
        var a = await prox.BackendStatusAsync("r", "a");
        Assert.Equal("up", a.GetProperty("state").GetString());
        Assert.Equal(0, a.GetProperty("failures").GetInt64());
        await app.StopAsync();
    }
}
