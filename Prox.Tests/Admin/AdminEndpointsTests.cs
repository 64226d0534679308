using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Routing;
using Prox.Http.Admin;
using Xunit;

namespace Prox.Tests.Admin;

/// <summary>The admin listener's routing table: every endpoint behind the gate, 405 and <c>Allow</c> from the table,
/// 404 for what it does not name exactly.</summary>
public class AdminEndpointsTests(AdminPlane plane) : IClassFixture<AdminPlane>
{
    [Fact]
    public void Map_EveryEndpoint_CarriesTheGate()
    {
        var endpoints = plane.Endpoints;

        Assert.True(endpoints.Count >= 17, $"only {endpoints.Count} admin endpoints");
        Assert.All(endpoints, e => Assert.True(e.Metadata.GetMetadata<AdminGuarded>() is not null,
            $"{e.DisplayName} is not behind {nameof(AdminGate)}"));
    }

    /// <summary>The app adds routing in front of every request when endpoints are mapped on it; the admin endpoints
    /// live in the admin listener's own pipeline, so the proxy listener has no routing in front of its handler.</summary>
    [Fact]
    public void Map_NothingOnTheApp_ProxyRequestsNotRouted() =>
        Assert.Empty(((IEndpointRouteBuilder)plane.Prox.Host.App).DataSources);

    [Fact]
    public async Task EveryEndpoint_NoToken_401ExceptHealthzReads()
    {
        foreach (var e in plane.Endpoints)
        {
            var path = AdminPlane.SamplePath(e.RoutePattern);
            var open = e.Metadata.GetMetadata<AdminGuarded>() is { OpenForReads: true };
            foreach (var method in e.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods ?? ["GET", "DELETE"])
            {
                using var resp = await plane.Prox.Admin.SendAsync(AdminPlane.Request(method, path, token: false));

                var expected = open && method is "GET" or "HEAD" ? HttpStatusCode.OK : HttpStatusCode.Unauthorized;
                Assert.True(expected == resp.StatusCode, $"{method} {path}: {(int)resp.StatusCode}, expected {(int)expected}");
                if (expected == HttpStatusCode.Unauthorized)
                    Assert.Equal("Bearer", Assert.Single(resp.Headers.WwwAuthenticate).Scheme);
            }
        }
    }

    [Theory]
    [InlineData("PUT", "/healthz", "GET, HEAD")]
    [InlineData("PUT", "/readyz", "GET, HEAD")]
    [InlineData("POST", "/status", "GET, HEAD")]
    [InlineData("DELETE", "/admin/config", "GET, HEAD, PUT")]
    [InlineData("POST", "/admin/config/versions/3", "GET, HEAD")]
    [InlineData("GET", "/admin/config/reload", "POST")]
    [InlineData("PUT", "/admin/routes/r/backends", "POST")]
    [InlineData("GET", "/admin/routes/r/backends/a", "PATCH, DELETE")]
    [InlineData("GET", "/admin/cache/invalidate", "POST")]
    public async Task WrongMethod_405ProblemWithAllowFromTheTable(string method, string path, string allow)
    {
        using var resp = await plane.Prox.Admin.SendAsync(AdminPlane.Request(method, path, token: true));

        Assert.Equal(HttpStatusCode.MethodNotAllowed, resp.StatusCode);
        Assert.Equal(allow, string.Join(", ", resp.Content.Headers.Allow));
        Assert.Equal(allow, string.Join(", ", AdminRouting.AllowedMethods(plane.Endpoints, path)));
        Assert.Equal("application/problem+json", resp.Content.Headers.ContentType?.MediaType);
        var problem = await resp.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(405, problem.GetProperty("status").GetInt32());
        Assert.Equal($"{path} supports {allow}.", problem.GetProperty("detail").GetString());
    }

    [Theory]
    [InlineData("GET /")]
    [InlineData("GET /admin")]
    [InlineData("GET /STATUS")]
    [InlineData("GET /status/")]
    [InlineData("DELETE /Admin/Events")]
    [InlineData("POST /admin/routes/r/backends/")]
    [InlineData("POST /admin/chaos/crash/x")]
    public async Task NotNamedExactly_404Problem(string requestLine)
    {
        var (method, path) = (requestLine.Split(' ')[0], requestLine.Split(' ')[1]);
        using var resp = await plane.Prox.Admin.SendAsync(AdminPlane.Request(method, path, token: true));

        Assert.Equal(HttpStatusCode.NotFound, resp.StatusCode);
        Assert.Equal("application/problem+json", resp.Content.Headers.ContentType?.MediaType);
        Assert.StartsWith("Unknown admin endpoint.", (await resp.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString());
    }

    [Fact]
    public async Task Head_ReadEndpoint_HeadersWithoutBody()
    {
        using var resp = await plane.Prox.Admin.SendAsync(AdminPlane.Request("HEAD", "/admin/audit", token: true));

        Assert.Equal(HttpStatusCode.OK, resp.StatusCode);
        Assert.Equal("application/json", resp.Content.Headers.ContentType?.MediaType);
        Assert.Empty(await resp.Content.ReadAsByteArrayAsync());
    }
}
