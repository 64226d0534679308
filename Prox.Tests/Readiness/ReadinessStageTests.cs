using Akka.Actor;
using Akka.TestKit.Xunit2;
using Microsoft.AspNetCore.Http;
using Prox.Actors.Config;
using Prox.Actors.Routing;
using Prox.Http.Errors;
using Prox.Http.Pipeline;
using Prox.Http.Routing;
using Prox.Http.Runtime;
using Xunit;

namespace Prox.Tests.Readiness;

/// <summary>The readiness flag of <see cref="ProxSnapshotStore"/> and what <see cref="RouteMatchStage"/> answers
/// before and after it: 503 with <c>Retry-After: 1</c> for everything until every route has published, never 404.</summary>
public class ReadinessStageTests : TestKit
{
    private static readonly ProxConfig Config = ProxConfigParser.ParseText(
        """prox { routes.api { match.path-prefix = "/api", backends = [ { url = "http://a:1" } ] } }""", _ => null).Config!;

    private static async Task<(int Status, HttpContext Http, bool Forwarded)> MatchAsync(ProxSnapshotStore store, string path)
    {
        var http = new DefaultHttpContext();
        http.Request.Method = "GET";
        http.Request.Path = path;
        http.Request.Host = new HostString("example.test");
        http.Response.Body = new MemoryStream();
        var forwarded = false;
        var stage = new RouteMatchStage(new ProxRuntime(Config, store, () => ActorRefs.Nobody));
        await stage.InvokeAsync(new ProxyContext(http, "req-1", trusted: false), _ =>
        {
            forwarded = true;
            return ValueTask.CompletedTask;
        });
        return (http.Response.StatusCode, http, forwarded);
    }

    [Theory]
    [InlineData("/api/x")]
    [InlineData("/no-route-matches-this")]
    public async Task NotReady_AnyPath_503ProblemWithRetryAfter(string path)
    {
        var store = new ProxSnapshotStore();

        var (status, http, forwarded) = await MatchAsync(store, path);

        Assert.False(store.IsReady);
        Assert.Equal(StatusCodes.Status503ServiceUnavailable, status);
        Assert.Equal("1", http.Response.Headers.RetryAfter.ToString());
        Assert.Equal(Problems.ContentType, http.Response.ContentType);
        Assert.False(forwarded);
    }

    [Fact]
    public async Task EveryRoutePublished_Ready_MatchedPathPassesOn_Unmatched404()
    {
        var store = new ProxSnapshotStore();
        Sys.ActorOf(RouteManager.Props(Config, store), "routes");

        await store.Ready.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.True(store.IsReady);
        Assert.True((await MatchAsync(store, "/api/x")).Forwarded);
        var (status, _, forwarded) = await MatchAsync(store, "/no-route-matches-this");
        Assert.Equal(StatusCodes.Status404NotFound, status);
        Assert.False(forwarded);
    }
}
