using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Prox.Tests.Infrastructure;
using Xunit;

namespace Prox.Tests.E2E;

/// <summary>The circuit breaker over real sockets: a failing backend is cut off, the clients never notice, and
/// the backend is let back in through half-open trials once it answers again.</summary>
public class BreakerTests
{
    [Fact]
    public async Task FailingBackend_BreakerOpens_ClientsKeepGetting200_TrialClosesItWhenBackendRecovers()
    {
        var failing = 0; // 1 = b answers 503
        await using var a = await TestBackend.StartAsync("a");
        await using var b = await TestBackend.StartAsync("b", async ctx =>
        {
            ctx.Response.StatusCode = Volatile.Read(ref failing) == 1 ? 503 : 200;
            await ctx.Response.WriteAsync("b");
        });
        await using var prox = await ProxUnderTest.StartAsync($$"""
            routes.r {
              load-balancing = round-robin
              backends = [ { id = a, url = "{{a.Url}}" }, { id = b, url = "{{b.Url}}" } ]
              retries { attempts = 1, backoff = 0ms }
              breaker { consecutive-failures = 3, open-for = 300ms, max-open = 300ms, half-open-trials = 2 }
            }
            """);

        using var cts = new CancellationTokenSource();
        var errors = 0;
        var load = Task.Run(async () =>
        {
            while (!cts.IsCancellationRequested)
            {
                using var resp = await prox.Client.GetAsync("/");
                if (resp.StatusCode != HttpStatusCode.OK) Interlocked.Increment(ref errors);
            }
        });

        await ProxUnderTest.EventuallyAsync(() => Task.FromResult(b.Hits > 5), what: "b serving");
        Volatile.Write(ref failing, 1);
        await ProxUnderTest.EventuallyAsync(async () => await Kinds(prox) is var k && k.Contains("breaker-opened"),
            what: "breaker opened");
        // open → half-open → a failed trial → open again, with b still failing: it never stays in rotation
        await ProxUnderTest.EventuallyAsync(async () => (await Kinds(prox)).Count(k => k == "breaker-opened") >= 2,
            what: "a failed trial reopened the breaker");
        Assert.True((await prox.BackendStatusAsync("r", "b")).GetProperty("breaker").GetProperty("openings").GetInt32() >= 2);

        Volatile.Write(ref failing, 0);
        await ProxUnderTest.EventuallyAsync(async () =>
            (await prox.BackendStatusAsync("r", "b")).GetProperty("breaker").GetProperty("state").GetString() == "closed"
            && (await Kinds(prox)).Contains("breaker-closed"),
            what: "trials closed the breaker");
        var hits = b.Hits;
        await ProxUnderTest.EventuallyAsync(() => Task.FromResult(b.Hits > hits + 10), what: "b back in full rotation");

        cts.Cancel();
        await load;
        Assert.Equal(0, errors); // every 503 from b was retried on a

        var kinds = await Kinds(prox);
        var first = kinds.IndexOf("breaker-opened");
        Assert.True(first >= 0 && kinds.IndexOf("breaker-half-open") > first && kinds.LastIndexOf("breaker-closed") > first,
            string.Join(", ", kinds));
    }

    [Fact]
    public async Task EveryBackendsBreakerOpen_503WithRetryAfter()
    {
        await using var a = await TestBackend.StartAsync("a", async ctx =>
        {
            ctx.Response.StatusCode = 502;
            await ctx.Response.WriteAsync("bad");
        });
        await using var prox = await ProxUnderTest.StartAsync($$"""
            routes.r {
              backends = [ { id = a, url = "{{a.Url}}" } ]
              retries { attempts = 0 }
              breaker { consecutive-failures = 2, open-for = 30s, max-open = 30s }
              passive { panic-threshold = 0% }
            }
            """);

        for (var i = 0; i < 2; i++)
        {
            using var bad = await prox.Client.GetAsync("/");
            Assert.Equal(HttpStatusCode.BadGateway, bad.StatusCode); // the backend's own 502, passed through
        }
        await ProxUnderTest.EventuallyAsync(async () =>
            (await prox.BackendStatusAsync("r", "a")).GetProperty("state").GetString() == "open", what: "breaker open");

        var hits = a.Hits;
        using var resp = await prox.Client.GetAsync("/");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, resp.StatusCode);
        Assert.Equal("application/problem+json", resp.Content.Headers.ContentType?.MediaType);
        var retryAfter = resp.Headers.RetryAfter?.Delta;
        Assert.NotNull(retryAfter);
        Assert.InRange(retryAfter!.Value.TotalSeconds, 25, 30); // until the breaker may half-open
        Assert.Equal(hits, a.Hits); // an open breaker costs the backend nothing
        Assert.Contains("pool-down", await Kinds(prox));
    }

    private static async Task<List<string>> Kinds(ProxUnderTest prox)
    {
        var page = await prox.Admin.GetFromJsonAsync<JsonElement>("/admin/events?limit=1000");
        return page.GetProperty("events").EnumerateArray().Select(e => e.GetProperty("kind").GetString()!).ToList();
    }
}
