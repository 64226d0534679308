using System.Net.Http.Headers;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Patterns;
using Microsoft.Extensions.DependencyInjection;
using Prox.Http.Admin;
using Prox.Tests.Infrastructure;
using Xunit;

namespace Prox.Tests.Admin;

/// <summary>One running Prox with admin tokens, shared by the routing-table tests of a class.</summary>
public sealed class AdminPlane : IAsyncLifetime
{
    public static readonly (string Token, string Hash) Writer = AdminAuth.NewToken();

    public ProxUnderTest Prox { get; private set; } = null!;

    /// <summary>The admin listener's routing table as the host built it.</summary>
    public IReadOnlyList<RouteEndpoint> Endpoints =>
        [.. Prox.Host.App.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()];

    public async Task InitializeAsync() => Prox = await ProxUnderTest.StartAsync($$"""
        admin.tokens = [ { name = ci, sha256 = "{{Writer.Hash}}", role = write } ]
        routes.r { backends = [ { id = a, url = "http://127.0.0.1:9" } ] }
        """);

    public async Task DisposeAsync() => await Prox.DisposeAsync();

    /// <summary>A request to the admin listener, with the write token or none.</summary>
    public static HttpRequestMessage Request(string method, string path, bool token)
    {
        var req = new HttpRequestMessage(new HttpMethod(method), path);
        if (token) req.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Writer.Token);
        return req;
    }

    /// <summary>A path the pattern names: every parameter is <c>x</c>.</summary>
    public static string SamplePath(RoutePattern pattern) =>
        "/" + string.Join('/', pattern.PathSegments.Select(s => s.Parts[0] is RoutePatternLiteralPart l ? l.Content : "x"));
}
