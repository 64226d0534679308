using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Prox.Tests.Infrastructure;
using Xunit;

namespace Prox.Tests.E2E;

/// <summary>Request coalescing over real sockets: backends count what reaches them, and hold their answer on a
/// gate until every request under test is waiting in Prox (seen on <c>/status</c>), so nothing depends on timing.</summary>
public class DedupTests
{
    private static string Route(TestBackend b, string dedup = "dedup { enabled = true }", string extra = "") => $$"""
        routes.r {
          backends = [ { id = b, url = "{{b.Url}}" } ]
          {{dedup}}
          {{extra}}
        }
        """;

    private static TaskCompletionSource NewGate() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private static async Task<JsonElement> DedupStatusAsync(ProxUnderTest prox)
    {
        var status = await prox.StatusAsync();
        return status.GetProperty("routes")[0].GetProperty("dedup");
    }

    private static Task WaitForAsync(ProxUnderTest prox, string counter, long atLeast) =>
        ProxUnderTest.EventuallyAsync(async () => (await DedupStatusAsync(prox)).GetProperty(counter).GetInt64() >= atLeast,
            what: $"dedup.{counter} >= {atLeast}");

    private static string? Coalesced(HttpResponseMessage r) =>
        r.Headers.TryGetValues("X-Coalesced", out var v) ? v.Single() : null;

    private static async Task<(HttpStatusCode Status, string? Coalesced, string Body, string RequestId)> ReadAsync(Task<HttpResponseMessage> send)
    {
        using var r = await send;
        return (r.StatusCode, Coalesced(r), await r.Content.ReadAsStringAsync(), r.Headers.GetValues("X-Request-Id").Single());
    }

    [Fact]
    public async Task TwoHundredConcurrentIdenticalGets_BackendSeesOne()
    {
        var gate = NewGate();
        await using var b = await TestBackend.StartAsync("b", async ctx =>
        {
            await gate.Task;
            ctx.Response.Headers.CacheControl = "public, max-age=5";
            await ctx.Response.WriteAsync("the one answer");
        });
        await using var prox = await ProxUnderTest.StartAsync(Route(b, """
            dedup { enabled = true, methods = [GET, HEAD], key = [method, path, query], headers = ["Accept", "Accept-Language"], max-body = 1MB, window = 10s }
            """));

        var requests = Enumerable.Range(0, 200).Select(_ => ReadAsync(prox.Client.GetAsync("/item?id=7"))).ToArray();
        await WaitForAsync(prox, "followers", 199);
        gate.SetResult();
        var results = await Task.WhenAll(requests);

        Assert.Equal(1, b.Hits);
        Assert.All(results, r => Assert.Equal((HttpStatusCode.OK, "the one answer"), (r.Status, r.Body)));
        Assert.Equal(1, results.Count(r => r.Coalesced == "leader"));
        Assert.Equal(199, results.Count(r => r.Coalesced == "follower"));
        Assert.Equal(200, results.Select(r => r.RequestId).Distinct().Count()); // each keeps its own request id
        var dedup = await DedupStatusAsync(prox);
        Assert.Equal(1, dedup.GetProperty("leaders").GetInt64());
        Assert.Equal(199, dedup.GetProperty("followers").GetInt64());
        Assert.Equal(0, dedup.GetProperty("ownWay").GetInt64());
        await ProxUnderTest.EventuallyAsync(async () => (await DedupStatusAsync(prox)).GetProperty("inFlightKeys").GetInt32() == 0,
            what: "key freed");
    }

    [Fact]
    public async Task DifferentPathQueryOrKeyHeader_AreNotMerged()
    {
        var gate = NewGate();
        await using var b = await TestBackend.StartAsync("b", async ctx =>
        {
            await gate.Task;
            await ctx.Response.WriteAsync(ctx.Request.Path + ctx.Request.QueryString + " " + ctx.Request.Headers.Accept);
        });
        await using var prox = await ProxUnderTest.StartAsync(Route(b, """dedup { headers = ["Accept"] }"""));

        Task<HttpResponseMessage> Get(string path, string? accept = null)
        {
            var req = new HttpRequestMessage(HttpMethod.Get, path);
            if (accept is not null) req.Headers.Add("Accept", accept);
            return prox.Client.SendAsync(req);
        }

        var requests = new[]
        {
            Get("/a"), Get("/b"), Get("/a?x=1"), Get("/a?x=2"), Get("/a", "text/plain"), Get("/a", "application/json"),
        }.Select(ReadAsync).ToArray();
        await WaitForAsync(prox, "leaders", 6);
        var duplicate = ReadAsync(Get("/a?x=1"));
        await WaitForAsync(prox, "followers", 1);
        gate.SetResult();
        var results = await Task.WhenAll(requests);
        var dup = await duplicate;

        Assert.Equal(6, b.Hits);
        Assert.All(results, r => Assert.Equal("leader", r.Coalesced));
        Assert.Equal(["/a ", "/b ", "/a?x=1 ", "/a?x=2 ", "/a text/plain", "/a application/json"], results.Select(r => r.Body));
        Assert.Equal(("follower", "/a?x=1 "), (dup.Coalesced, dup.Body));
    }

    [Theory]
    [InlineData("Set-Cookie", "session=abc")]
    [InlineData("Cache-Control", "private, max-age=60")]
    [InlineData("Cache-Control", "no-store")]
    public async Task PrivateResponse_IsNeverShared_FollowersGoTheirOwnWay(string header, string value)
    {
        var gate = NewGate();
        var n = 0;
        await using var b = await TestBackend.StartAsync("b", async ctx =>
        {
            await gate.Task;
            ctx.Response.Headers[header] = value;
            await ctx.Response.WriteAsync("for you alone " + Interlocked.Increment(ref n));
        });
        await using var prox = await ProxUnderTest.StartAsync(Route(b));

        var requests = Enumerable.Range(0, 10).Select(_ => ReadAsync(prox.Client.GetAsync("/me"))).ToArray();
        await WaitForAsync(prox, "followers", 9);
        gate.SetResult();
        var results = await Task.WhenAll(requests);

        Assert.Equal(10, b.Hits);
        Assert.All(results, r => Assert.Equal(HttpStatusCode.OK, r.Status));
        Assert.Equal(10, results.Select(r => r.Body).Distinct().Count()); // nobody got another's response
        Assert.Equal(1, results.Count(r => r.Coalesced == "leader"));
        Assert.Equal(9, results.Count(r => r.Coalesced is null));
        await WaitForAsync(prox, "ownWay", 9);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task OverMaxBody_FollowersGoTheirOwnWay_AndStillSucceed(bool contentLength)
    {
        var gate = NewGate();
        var body = new string('x', 4096);
        await using var b = await TestBackend.StartAsync("b", async ctx =>
        {
            await gate.Task;
            if (contentLength) ctx.Response.ContentLength = body.Length;
            await ctx.Response.WriteAsync(body[..2048]);
            await ctx.Response.Body.FlushAsync();
            await ctx.Response.WriteAsync(body[2048..]);
        });
        await using var prox = await ProxUnderTest.StartAsync(Route(b, "dedup { max-body = 1KB }"));

        var requests = Enumerable.Range(0, 5).Select(_ => ReadAsync(prox.Client.GetAsync("/big"))).ToArray();
        await WaitForAsync(prox, "followers", 4);
        gate.SetResult();
        var results = await Task.WhenAll(requests);

        Assert.Equal(5, b.Hits);
        Assert.All(results, r => Assert.Equal((HttpStatusCode.OK, body), (r.Status, r.Body)));
        Assert.Equal(1, results.Count(r => r.Coalesced == "leader"));
        await WaitForAsync(prox, "ownWay", 4);
    }

    [Fact]
    public async Task FollowerClientDisconnects_OthersUnaffected()
    {
        var gate = NewGate();
        await using var b = await TestBackend.StartAsync("b", async ctx =>
        {
            await gate.Task;
            await ctx.Response.WriteAsync("shared");
        });
        await using var prox = await ProxUnderTest.StartAsync(Route(b));

        var leader = ReadAsync(prox.Client.GetAsync("/x"));
        await WaitForAsync(prox, "leaders", 1);
        using var quitter = new CancellationTokenSource();
        var leaving = prox.Client.GetAsync("/x", quitter.Token);
        var stayers = Enumerable.Range(0, 3).Select(_ => ReadAsync(prox.Client.GetAsync("/x"))).ToArray();
        await WaitForAsync(prox, "followers", 4);
        await quitter.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => leaving);
        gate.SetResult();

        var l = await leader;
        var f = await Task.WhenAll(stayers);
        Assert.Equal(1, b.Hits);
        Assert.Equal((HttpStatusCode.OK, "leader", "shared"), (l.Status, l.Coalesced, l.Body));
        Assert.All(f, r => Assert.Equal((HttpStatusCode.OK, "follower", "shared"), (r.Status, r.Coalesced, r.Body)));
    }

    [Fact]
    public async Task LeaderClientDisconnects_BackendResponseStillServesFollowers()
    {
        var gate = NewGate();
        var backendSawAbort = false;
        await using var b = await TestBackend.StartAsync("b", async ctx =>
        {
            using var reg = ctx.RequestAborted.Register(() => Volatile.Write(ref backendSawAbort, true));
            await gate.Task;
            await ctx.Response.WriteAsync("still useful");
        });
        await using var prox = await ProxUnderTest.StartAsync(Route(b));

        using var quitter = new CancellationTokenSource();
        var leader = prox.Client.GetAsync("/x", quitter.Token);
        await ProxUnderTest.EventuallyAsync(() => Task.FromResult(b.Hits == 1), what: "leader at the backend");
        var followers = Enumerable.Range(0, 3).Select(_ => ReadAsync(prox.Client.GetAsync("/x"))).ToArray();
        await WaitForAsync(prox, "followers", 3);
        await quitter.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => leader);
        // Nothing observable tells the test when Kestrel has seen the leader's connection close (no sleep would be
        // needed if it did); a non-dedup route would cancel the backend exchange at that moment. Give it the moment.
        await Task.Delay(300);
        gate.SetResult();
        var results = await Task.WhenAll(followers);

        Assert.Equal(1, b.Hits);
        Assert.False(Volatile.Read(ref backendSawAbort));
        Assert.All(results, r => Assert.Equal((HttpStatusCode.OK, "follower", "still useful"), (r.Status, r.Coalesced, r.Body)));
    }

    [Fact]
    public async Task LeaderFails_FollowersGetTheSameError_WithTheirOwnRequestIds()
    {
        var gate = NewGate();
        await using var b = await TestBackend.StartAsync("b", async ctx =>
        {
            await gate.Task;
            ctx.Abort(); // the backend breaks the connection: no response at all
        });
        await using var prox = await ProxUnderTest.StartAsync(Route(b, extra: "retries.attempts = 0"));

        var requests = Enumerable.Range(0, 10).Select(_ => ReadAsync(prox.Client.GetAsync("/x"))).ToArray();
        await WaitForAsync(prox, "followers", 9);
        gate.SetResult();
        var results = await Task.WhenAll(requests);

        // one leader: its attempt, and the one resend on a fresh connection that a connection broken before any
        // response gets (it looks exactly like a pooled connection the backend closed while idle)
        Assert.Equal(2, b.Hits);
        Assert.All(results, r => Assert.Equal(HttpStatusCode.BadGateway, r.Status));
        Assert.Equal(1, results.Count(r => r.Coalesced == "leader"));
        Assert.Equal(9, results.Count(r => r.Coalesced == "follower"));
        foreach (var r in results)
            Assert.Equal(r.RequestId, JsonDocument.Parse(r.Body).RootElement.GetProperty("requestId").GetString());
    }

    [Fact]
    public async Task LeaderTimesOut_FollowersGet504Too()
    {
        var gate = NewGate();
        await using var b = await TestBackend.StartAsync("b", async ctx =>
        {
            await gate.Task;
            await ctx.Response.WriteAsync("too late");
        });
        await using var prox = await ProxUnderTest.StartAsync(Route(b, extra: "timeouts.request = 1s, retries.attempts = 0"));

        try
        {
            var requests = Enumerable.Range(0, 10).Select(_ => ReadAsync(prox.Client.GetAsync("/slow"))).ToArray();
            var results = await Task.WhenAll(requests);

            Assert.Equal(1, b.Hits);
            Assert.All(results, r => Assert.Equal(HttpStatusCode.GatewayTimeout, r.Status));
            Assert.Equal(1, results.Count(r => r.Coalesced == "leader"));
        }
        finally
        {
            gate.SetResult();
        }
    }

    [Fact]
    public async Task LeaderSlowerThanWindow_FollowerGoesItsOwnWay()
    {
        var gate = NewGate();
        await using var b = await TestBackend.StartAsync("b", async ctx =>
        {
            await gate.Task;
            await ctx.Response.WriteAsync("ok");
        });
        await using var prox = await ProxUnderTest.StartAsync(Route(b, "dedup { window = 200ms }"));

        var leader = ReadAsync(prox.Client.GetAsync("/x"));
        await WaitForAsync(prox, "leaders", 1);
        var follower = ReadAsync(prox.Client.GetAsync("/x"));
        await WaitForAsync(prox, "ownWay", 1);
        gate.SetResult();

        Assert.Equal((HttpStatusCode.OK, "leader"), ((await leader).Status, (await leader).Coalesced));
        var f = await follower;
        Assert.Equal((HttpStatusCode.OK, (string?)null, "ok"), (f.Status, f.Coalesced, f.Body));
        Assert.Equal(2, b.Hits);
    }

    [Fact]
    public async Task HeadFollowsHead_NeverGet()
    {
        var gate = NewGate();
        await using var b = await TestBackend.StartAsync("b", async ctx =>
        {
            await gate.Task;
            ctx.Response.ContentLength = 5;
            if (!HttpMethods.IsHead(ctx.Request.Method)) await ctx.Response.WriteAsync("hello");
        });
        await using var prox = await ProxUnderTest.StartAsync(Route(b));

        var get = prox.Client.GetAsync("/x");
        var head1 = prox.Client.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/x"));
        await WaitForAsync(prox, "leaders", 2);
        var head2 = prox.Client.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/x"));
        await WaitForAsync(prox, "followers", 1);
        gate.SetResult();

        using var g = await get;
        using var h1 = await head1;
        using var h2 = await head2;
        Assert.Equal(("leader", "hello"), (Coalesced(g), await g.Content.ReadAsStringAsync()));
        Assert.Equal("leader", Coalesced(h1));
        Assert.Equal("follower", Coalesced(h2));
        Assert.Equal(5, h2.Content.Headers.ContentLength);
        Assert.Empty(await h2.Content.ReadAsByteArrayAsync());
        Assert.Equal(2, b.Hits);
    }

    [Fact]
    public async Task RequestsWithCookieOrBody_AreNotCoalesced_UnlessTheCookieIsInTheKey()
    {
        await using var b = await TestBackend.StartAsync("b");
        await using var prox = await ProxUnderTest.StartAsync(Route(b));

        using var withCookie = new HttpRequestMessage(HttpMethod.Get, "/x") { Headers = { { "Cookie", "s=1" } } };
        using var r1 = await prox.Client.SendAsync(withCookie);
        using var post = await prox.Client.PostAsync("/x", new StringContent("body"));
        using var plain = await prox.Client.GetAsync("/x");

        Assert.Null(Coalesced(r1));
        Assert.Null(Coalesced(post));
        Assert.Equal("leader", Coalesced(plain));
    }

    [Fact]
    public async Task RouteActorCrash_RequestsStillSucceed_InFlightLeaderServesItsFollowers_CountersKept()
    {
        var gate = NewGate();
        await using var b = await TestBackend.StartAsync("b", async ctx =>
        {
            if (ctx.Request.Path == "/slow") await gate.Task;
            await ctx.Response.WriteAsync("ok " + ctx.Request.Path);
        });
        await using var prox = await ProxUnderTest.StartAsync("admin.chaos = on\n" + Route(b));

        var slow = Enumerable.Range(0, 4).Select(_ => ReadAsync(prox.Client.GetAsync("/slow"))).ToArray();
        await WaitForAsync(prox, "followers", 3);
        using (var crash = await prox.Admin.PostAsync("/admin/chaos/crash?route=r", null))
            Assert.Equal(HttpStatusCode.Accepted, crash.StatusCode);

        // while the route actor waits out its restart backoff nobody answers the lead/follow question:
        // requests are forwarded on their own, never failed
        for (var i = 0; i < 5; i++)
        {
            using var r = await prox.Client.GetAsync("/fast");
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        }
        gate.SetResult();
        var results = await Task.WhenAll(slow);
        await ProxUnderTest.EventuallyAsync(async () =>
        {
            using var r = await prox.Client.GetAsync("/fast");
            return Coalesced(r) == "leader";
        }, what: "the restarted route actor decides again");

        Assert.All(results, r => Assert.Equal((HttpStatusCode.OK, "ok /slow"), (r.Status, r.Body)));
        Assert.Equal(3, results.Count(r => r.Coalesced == "follower"));
        Assert.Equal(1, b.Paths.Count(p => p == "/slow"));
        Assert.True((await DedupStatusAsync(prox)).GetProperty("followers").GetInt64() >= 3); // kept across the restart
    }

    [Fact]
    public async Task PostOptIn_SameBodyCoalesces_DifferentBodyDoesNot()
    {
        var gate = NewGate();
        await using var b = await TestBackend.StartAsync("b", async ctx =>
        {
            await gate.Task;
            using var reader = new StreamReader(ctx.Request.Body);
            await ctx.Response.WriteAsync("got " + await reader.ReadToEndAsync());
        });
        await using var prox = await ProxUnderTest.StartAsync(Route(b, "dedup { post = true }"));

        Task<(HttpStatusCode Status, string? Coalesced, string Body, string RequestId)> Post(string body) =>
            ReadAsync(prox.Client.PostAsync("/search", new StringContent(body)));

        var q1 = Enumerable.Range(0, 5).Select(_ => Post("q=1")).ToArray();
        await WaitForAsync(prox, "followers", 4);
        var q2 = Post("q=2");
        await WaitForAsync(prox, "leaders", 2);
        gate.SetResult();
        var r1 = await Task.WhenAll(q1);
        var r2 = await q2;

        Assert.Equal(2, b.Hits);
        Assert.All(r1, r => Assert.Equal((HttpStatusCode.OK, "got q=1"), (r.Status, r.Body)));
        Assert.Equal(4, r1.Count(r => r.Coalesced == "follower"));
        Assert.Equal(("leader", "got q=2"), (r2.Coalesced, r2.Body));
    }

    [Fact]
    public async Task PostOptIn_FollowerGoingItsOwnWay_SendsItsBody()
    {
        var gate = NewGate();
        await using var b = await TestBackend.StartAsync("b", async ctx =>
        {
            await gate.Task;
            using var reader = new StreamReader(ctx.Request.Body);
            ctx.Response.Headers.SetCookie = "s=1"; // never shared: the follower forwards its own request
            await ctx.Response.WriteAsync("got " + await reader.ReadToEndAsync());
        });
        await using var prox = await ProxUnderTest.StartAsync(Route(b, "dedup { post = true }"));

        var leader = ReadAsync(prox.Client.PostAsync("/p", new StringContent("same")));
        await WaitForAsync(prox, "leaders", 1);
        var follower = ReadAsync(prox.Client.PostAsync("/p", new StringContent("same")));
        await WaitForAsync(prox, "followers", 1);
        gate.SetResult();

        Assert.Equal((HttpStatusCode.OK, "got same"), ((await leader).Status, (await leader).Body));
        var f = await follower;
        Assert.Equal((HttpStatusCode.OK, (string?)null, "got same"), (f.Status, f.Coalesced, f.Body));
        Assert.Equal(2, b.Hits);
    }

    [Fact]
    public async Task DedupOff_NoHeader_NoCounters()
    {
        await using var b = await TestBackend.StartAsync("b");
        await using var prox = await ProxUnderTest.StartAsync(Route(b, "dedup { enabled = false }"));

        using var r = await prox.Client.GetAsync("/x");
        var route = (await prox.StatusAsync()).GetProperty("routes")[0];

        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        Assert.Null(Coalesced(r));
        Assert.False(route.TryGetProperty("dedup", out _));
    }

    [Fact]
    public async Task Reload_TurnsDedupOnInPlace()
    {
        var gate = NewGate();
        await using var b = await TestBackend.StartAsync("b", async ctx =>
        {
            await gate.Task;
            await ctx.Response.WriteAsync("ok");
        });
        await using var prox = await ProxUnderTest.StartFromFileAsync(Route(b, ""));
        gate.SetResult();
        using (var before = await prox.Client.GetAsync("/x"))
            Assert.Null(Coalesced(before));

        var reload = await prox.ReloadAsync(Route(b));

        Assert.True(reload.Ok);
        using var after = await prox.Client.GetAsync("/x");
        Assert.Equal("leader", Coalesced(after));
    }

    [Fact]
    public async Task CachedRoute_ConcurrentMisses_Coalesced_BackendSeesOne_ThenHits()
    {
        var gate = NewGate();
        await using var b = await TestBackend.StartAsync("b", async ctx =>
        {
            await gate.Task;
            await ctx.Response.WriteAsync("cached once");
        });
        await using var prox = await ProxUnderTest.StartAsync(Route(b, "dedup { enabled = true }", "cache { ttl = 60s }"));

        var requests = Enumerable.Range(0, 50).Select(_ => prox.Client.GetAsync("/hot")).ToArray();
        await WaitForAsync(prox, "followers", 49);
        gate.SetResult();
        var responses = await Task.WhenAll(requests);

        Assert.Equal(1, b.Hits); // 50 misses, one backend request (nginx's proxy_cache_lock)
        foreach (var r in responses)
        {
            Assert.Equal((HttpStatusCode.OK, "cached once"), (r.StatusCode, await r.Content.ReadAsStringAsync()));
            Assert.Equal("MISS", r.Headers.GetValues("X-Cache").Single());
            r.Dispose();
        }
        using var hit = await prox.Client.GetAsync("/hot");
        Assert.Equal("HIT", hit.Headers.GetValues("X-Cache").Single());
        Assert.Equal(1, b.Hits);
    }
}
