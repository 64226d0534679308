using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Prox.Tests.Infrastructure;
using Xunit;

namespace Prox.Tests.E2E;

public class FailoverTests
{
    [Fact]
    public async Task BackendKilled_ClientsKeepGetting200_StatusShowsEjected_ReturnsWhenRestarted()
    {
        await using var a = await TestBackend.StartAsync("a");
        await using var b = await TestBackend.StartAsync("b");
        await using var prox = await ProxUnderTest.StartAsync($$"""
            routes.r {
              load-balancing = round-robin, backend-header = true
              backends = [ { id = a, url = "{{a.Url}}" }, { id = b, url = "{{b.Url}}" } ]
              retries { attempts = 1, backoff = 10ms }
              passive { failures-to-eject = 2, eject-for = 1s }
            }
            """);

        // a steady stream of requests runs through the whole kill / eject / restart cycle
        using var cts = new CancellationTokenSource();
        var failures = 0;
        var served = 0;
        var load = Task.Run(async () =>
        {
            while (!cts.IsCancellationRequested)
            {
                using var resp = await prox.Client.GetAsync("/");
                if (resp.StatusCode == HttpStatusCode.OK) Interlocked.Increment(ref served);
                else Interlocked.Increment(ref failures);
            }
        });

        await ProxUnderTest.EventuallyAsync(() => Task.FromResult(b.Hits > 5), what: "b serving");
        await b.StopAsync();
        await ProxUnderTest.EventuallyAsync(async () =>
            (await prox.BackendStatusAsync("r", "b")).GetProperty("state").GetString() == "ejected", what: "b ejected");
        var ejected = await prox.BackendStatusAsync("r", "b");
        Assert.False(ejected.GetProperty("healthy").GetBoolean());
        Assert.True(ejected.GetProperty("failures").GetInt64() >= 2);

        var hitsBeforeRestart = b.Hits;
        await b.RestartAsync();
        await ProxUnderTest.EventuallyAsync(async () =>
            b.Hits > hitsBeforeRestart + 5
            && (await prox.BackendStatusAsync("r", "b")).GetProperty("state").GetString() == "up",
            what: "b back in rotation");

        cts.Cancel();
        await load;
        Assert.Equal(0, failures);
        Assert.True(served > 20, $"served {served}");
    }

    [Fact]
    public async Task AllBackendsDown_503ProblemJson_WithRetryAfter()
    {
        using var dead = new DeadPort();
        var url = dead.Url;
        await using var prox = await ProxUnderTest.StartAsync($$"""
            routes.r { backends = [ { id = a, url = "{{url}}" } ], passive { failures-to-eject = 1, eject-for = 30s, panic-threshold = 0% } }
            """);

        using var first = await prox.Client.GetAsync("/x");
        Assert.Equal(HttpStatusCode.BadGateway, first.StatusCode);
        Assert.Equal("application/problem+json", first.Content.Headers.ContentType?.MediaType);

        await ProxUnderTest.EventuallyAsync(async () =>
            (await prox.BackendStatusAsync("r", "a")).GetProperty("state").GetString() == "ejected", what: "ejected");
        using var resp = await prox.Client.GetAsync("/x");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, resp.StatusCode);
        Assert.Equal("application/problem+json", resp.Content.Headers.ContentType?.MediaType);
        var retryAfter = resp.Headers.RetryAfter?.Delta;
        Assert.NotNull(retryAfter);
        Assert.InRange(retryAfter.Value.TotalSeconds, 1, 30);
        var problem = JsonDocument.Parse(await resp.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(503, problem.GetProperty("status").GetInt32());
        Assert.False(string.IsNullOrEmpty(problem.GetProperty("requestId").GetString()));
        Assert.Equal(problem.GetProperty("requestId").GetString(), resp.Headers.GetValues("X-Request-Id").Single());
    }

    [Fact]
    public async Task HangingBackend_504ProblemWithinTimeout()
    {
        await using var hang = await TestBackend.StartAsync("hang", async ctx =>
        {
            try
            {
                await Task.Delay(Timeout.Infinite, ctx.RequestAborted);
            }
            catch (OperationCanceledException)
            {
                // the proxy gave up, as it should
            }
        });
        await using var prox = await ProxUnderTest.StartAsync($$"""
            routes.r {
              backends = [ { id = hang, url = "{{hang.Url}}" } ]
              timeouts { request = 700ms }
              retries.attempts = 0
            }
            """);

        var sw = Stopwatch.StartNew();
        using var resp = await prox.Client.GetAsync("/slow");
        sw.Stop();

        Assert.Equal(HttpStatusCode.GatewayTimeout, resp.StatusCode);
        Assert.Equal("application/problem+json", resp.Content.Headers.ContentType?.MediaType);
        Assert.InRange(sw.Elapsed.TotalMilliseconds, 600, 5000);
    }

    [Fact]
    public async Task HangingBackend_WithRetries_TotalTimeBoundedByRequestTimeout()
    {
        await using var hang1 = await TestBackend.StartAsync("h1", ctx => Task.Delay(Timeout.Infinite, ctx.RequestAborted));
        await using var hang2 = await TestBackend.StartAsync("h2", ctx => Task.Delay(Timeout.Infinite, ctx.RequestAborted));
        await using var prox = await ProxUnderTest.StartAsync($$"""
            routes.r {
              backends = [ { id = h1, url = "{{hang1.Url}}", timeout = 400ms }, { id = h2, url = "{{hang2.Url}}", timeout = 400ms } ]
              timeouts { request = 1s }
              retries { attempts = 2, backoff = 10ms }
            }
            """);

        var sw = Stopwatch.StartNew();
        using var resp = await prox.Client.GetAsync("/");
        sw.Stop();

        Assert.Equal(HttpStatusCode.GatewayTimeout, resp.StatusCode);
        // each backend tried once, never twice (on a loaded machine the second try's request may time out before
        // its backend has counted it, so "at most once"; the elapsed time shows that both tries ran)
        Assert.Equal(1, hang1.Hits);
        Assert.InRange(hang2.Hits, 0, 1);
        Assert.InRange(sw.Elapsed.TotalMilliseconds, 700, 5000);
    }

    [Fact]
    public async Task BudgetSpentBeforeBackoff_504NotAnError()
    {
        // the first try uses up the whole request budget; the retry's backoff must not wait a negative time
        await using var slow = await TestBackend.StartAsync("slow", async ctx =>
        {
            await Task.Delay(400);
            ctx.Response.StatusCode = 503;
        });
        // slow too: if the timer fires a hair before the budget is spent, the retry may still go out, and
        // must then time out as well; the point is that a spent budget never becomes a 500
        await using var other = await TestBackend.StartAsync("other", async ctx =>
        {
            await Task.Delay(400);
            ctx.Response.StatusCode = 503;
        });
        await using var prox = await ProxUnderTest.StartAsync($$"""
            routes.r {
              backends = [ { id = slow, url = "{{slow.Url}}" }, { id = other, url = "{{other.Url}}" } ]
              load-balancing = round-robin
              timeouts.request = 300ms
              retries { attempts = 1, backoff = 200ms, max-backoff = 200ms }
              passive.failures-to-eject = 1000
            }
            """);

        using var first = await prox.Client.GetAsync("/");  // round-robin starts at "slow"

        Assert.Equal(HttpStatusCode.GatewayTimeout, first.StatusCode);
        Assert.Equal("application/problem+json", first.Content.Headers.ContentType?.MediaType);
        Assert.Equal(1, slow.Hits);
        Assert.InRange(other.Hits, 0, 1); // never retried twice, and only with budget left
    }

    [Fact]
    public async Task Retry_On503_GetGoesToAnotherBackend_PostIsNotRetried()
    {
        await using var bad = await TestBackend.StartAsync("bad", ctx =>
        {
            ctx.Response.StatusCode = 503;
            return ctx.Response.WriteAsync("busy");
        });
        await using var good = await TestBackend.StartAsync("good");
        await using var prox = await ProxUnderTest.StartAsync($$"""
            routes.r {
              load-balancing = round-robin, backend-header = true
              backends = [ { id = bad, url = "{{bad.Url}}" }, { id = good, url = "{{good.Url}}" } ]
              passive.failures-to-eject = 1000
            }
            """);

        for (var i = 0; i < 10; i++)
        {
            using var get = await prox.Client.GetAsync("/");
            Assert.Equal(HttpStatusCode.OK, get.StatusCode);
            Assert.Equal("good", get.Headers.GetValues("X-Backend-Used").Single());
        }

        var postStatuses = new List<HttpStatusCode>();
        for (var i = 0; i < 4; i++)
        {
            using var post = await prox.Client.PostAsync("/", new StringContent("x"));
            postStatuses.Add(post.StatusCode);
        }
        // round-robin alternates: half the POSTs land on the bad backend and are not retried
        Assert.Contains(HttpStatusCode.ServiceUnavailable, postStatuses);
        Assert.Contains(HttpStatusCode.OK, postStatuses);
    }

    [Fact]
    public async Task ConnectionRefused_RetriedOnAnotherBackend_NoClientError()
    {
        using var dead = new DeadPort();
        var deadUrl = dead.Url;
        await using var live = await TestBackend.StartAsync("live");
        await using var prox = await ProxUnderTest.StartAsync($$"""
            routes.r {
              backend-header = true
              backends = [ { id = dead, url = "{{deadUrl}}" }, { id = live, url = "{{live.Url}}" } ]
              passive.failures-to-eject = 1000
            }
            """);

        for (var i = 0; i < 6; i++)
        {
            using var resp = await prox.Client.GetAsync("/");
            Assert.Equal(HttpStatusCode.OK, resp.StatusCode);
            Assert.Equal("live", resp.Headers.GetValues("X-Backend-Used").Single());
        }
        // every refused connect is reported to the dead backend's actor
        await ProxUnderTest.EventuallyAsync(async () =>
            (await prox.BackendStatusAsync("r", "dead")).GetProperty("failures").GetInt64() >= 3, what: "failures recorded on dead");
    }
}
