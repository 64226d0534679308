using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Prox.Tests.Infrastructure;
using Xunit;

namespace Prox.Tests.E2E;

public class EventsEndpointTests
{
    [Fact]
    public async Task BackendDies_EventsOnStatusAndAdminEvents_PagedBySince()
    {
        using var dead = new DeadPort();
        var url = dead.Url;
        await using var prox = await ProxUnderTest.StartAsync($$"""
            routes.r { backends = [ { id = a, url = "{{url}}" } ], passive { failures-to-eject = 1, eject-for = 30s, panic-threshold = 0% } }
            """);

        (await prox.Client.GetAsync("/")).Dispose();

        string[] Kinds(JsonElement events) => events.EnumerateArray().Select(e => e.GetProperty("kind").GetString()!).ToArray();
        await ProxUnderTest.EventuallyAsync(async () =>
            Kinds((await prox.StatusAsync()).GetProperty("events")).Contains("pool-down"), what: "pool-down on /status");
        var status = await prox.StatusAsync();
        Assert.Equal(["backend-ejected", "pool-down"], Kinds(status.GetProperty("events")));
        var ejected = status.GetProperty("events")[0];
        Assert.Equal("r", ejected.GetProperty("route").GetString());
        Assert.Equal("a", ejected.GetProperty("backend").GetString());
        Assert.Contains("consecutive failures", ejected.GetProperty("detail").GetString());
        Assert.True(ejected.GetProperty("timestamp").GetDateTimeOffset() > DateTimeOffset.UtcNow.AddMinutes(-1));

        var all = await prox.Admin.GetFromJsonAsync<JsonElement>("/admin/events");
        Assert.Equal(2, all.GetProperty("events").GetArrayLength());
        var firstId = all.GetProperty("events")[0].GetProperty("id").GetString();
        var page = await prox.Admin.GetFromJsonAsync<JsonElement>($"/admin/events?since={firstId}&limit=10");
        Assert.Equal(["pool-down"], Kinds(page.GetProperty("events")));
        Assert.False(page.GetProperty("more").GetBoolean());
        var next = page.GetProperty("next").GetString();
        var empty = await prox.Admin.GetFromJsonAsync<JsonElement>($"/admin/events?since={next}");
        Assert.Equal(0, empty.GetProperty("events").GetArrayLength());
        Assert.Equal(next, empty.GetProperty("next").GetString());
    }

    [Theory]
    [InlineData("0")]
    [InlineData("1001")]
    [InlineData("ten")]
    public async Task AdminEvents_BadLimit_400Problem(string limit)
    {
        await using var prox = await ProxUnderTest.StartAsync("""routes.r { backends = [ { url = "http://127.0.0.1:9" } ] }""");

        using var resp = await prox.Admin.GetAsync($"/admin/events?limit={limit}");

        Assert.Equal(HttpStatusCode.BadRequest, resp.StatusCode);
        Assert.Equal("application/problem+json", resp.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task AdminEndpoints_NotOnTheProxyListener()
    {
        await using var prox = await ProxUnderTest.StartAsync("""routes.api { match.path-prefix = "/api", backends = [ { url = "http://127.0.0.1:9" } ] }""");

        using var resp = await prox.Client.GetAsync("/admin/events");

        Assert.Equal(HttpStatusCode.NotFound, resp.StatusCode); // the proxy listener only routes
    }
}
