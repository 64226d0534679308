using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Prox.Tests.Infrastructure;
using Xunit;

namespace Prox.Tests.E2E;

public class RecoveryTests
{
    [Fact]
    public async Task RecoveryAction_RestartsStoppedBackend_BackendBack_SuccessRateReported()
    {
        await using var app = await TestBackend.StartAsync("app", ctx =>
            ctx.Response.WriteAsync(ctx.Request.Path == "/healthz" ? "ok" : "hello from app"));
        var restarts = 0;
        using var restartLock = new SemaphoreSlim(1, 1);
        // the "controller": what an operator's restart hook would be; restarting a running app is a no-op
        await using var controller = await TestBackend.StartAsync("controller", async ctx =>
        {
            if (ctx.Request.Method != "POST" || ctx.Request.Path != "/restart")
            {
                ctx.Response.StatusCode = StatusCodes.Status404NotFound;
                return;
            }
            await restartLock.WaitAsync();
            try
            {
                if (!app.IsRunning)
                {
                    await app.RestartAsync();
                    Interlocked.Increment(ref restarts);
                }
            }
            finally
            {
                restartLock.Release();
            }
            await ctx.Response.WriteAsync("restarted");
        });
        await using var prox = await ProxUnderTest.StartAsync($$"""
            routes.r {
              backend-header = true
              health {
                path = "/healthz", interval = 100ms, timeout = 80ms, jitter = 0
                healthy-after = 1, unhealthy-after = 2
                unhealthy-interval = 100ms, max-unhealthy-interval = 100ms
              }
              # backoff well above the return time, so the one attempt is judged before a second is due
              recovery { after = 200ms, backoff = 5s, timeout = 5s, http { url = "{{controller.Url}}restart", method = POST } }
              backends = [ { id = app, url = "{{app.Url}}" } ]
            }
            """);

        async Task<JsonElement> Recovery() => (await prox.BackendStatusAsync("r", "app")).GetProperty("recovery");
        async Task<string> State() => (await prox.BackendStatusAsync("r", "app")).GetProperty("state").GetString()!;
        await ProxUnderTest.EventuallyAsync(async () =>
            (await prox.BackendStatusAsync("r", "app")).GetProperty("health").GetProperty("checks").GetInt32() >= 1,
            what: "app probed");
        var before = await Recovery();
        Assert.Equal($"http POST {controller.Url}restart", before.GetProperty("action").GetString());
        Assert.Equal(0, before.GetProperty("attempts").GetInt32());
        Assert.False(before.TryGetProperty("successRate", out _)); // null (omitted) before any verdict

        // a cold first probe may time out and flap the backend; only what follows the stop is the scenario
        await ProxUnderTest.EventuallyAsync(async () => await State() == "up", what: "app up");
        var seen = (await prox.StatusAsync()).GetProperty("events").GetArrayLength();

        await app.StopAsync();
        await ProxUnderTest.EventuallyAsync(async () => await State() == "down", what: "app down");
        await ProxUnderTest.EventuallyAsync(async () =>
            (await Recovery()).TryGetProperty("successRate", out var rate) && rate.GetDouble() == 1.0,
            what: "recovery succeeded");

        Assert.True(app.IsRunning);
        Assert.Equal(1, Volatile.Read(ref restarts));
        Assert.Equal("up", await State());
        var recovery = await Recovery();
        Assert.True(recovery.GetProperty("attempts").GetInt32() >= 1);
        Assert.Equal(1, recovery.GetProperty("successes").GetInt32());
        Assert.Equal(0, recovery.GetProperty("failures").GetInt32());
        Assert.False(recovery.TryGetProperty("downSince", out _)); // the outage is over
        var last = recovery.GetProperty("lastAttempt");
        Assert.True(last.GetProperty("actionOk").GetBoolean());
        Assert.Contains("HTTP 200", last.GetProperty("detail").GetString());

        var events = (await prox.StatusAsync()).GetProperty("events").EnumerateArray().Skip(seen)
            .Select(e => (Kind: e.GetProperty("kind").GetString()!, Detail: e.GetProperty("detail").GetString()!)).ToArray();
        var kinds = events.Select(e => e.Kind).Where(k => k != "pool-down" && k != "pool-up").ToList();
        // backend-up may come before recovery-attempted: a probe can see the restarted app before the controller's answer arrives
        Assert.Equal(["backend-down", "backend-up", "recovery-attempted", "recovery-succeeded"], kinds.Order());
        Assert.Equal("backend-down", kinds[0]);
        Assert.Equal("recovery-succeeded", kinds[^1]);
        Assert.Contains("attempt 1", events.Single(e => e.Kind == "recovery-attempted").Detail);
        Assert.Contains("after 1 attempt", events.Single(e => e.Kind == "recovery-succeeded").Detail);

        using var resp = await prox.Client.GetAsync("/");
        Assert.Equal(HttpStatusCode.OK, resp.StatusCode);
        Assert.Equal("hello from app", await resp.Content.ReadAsStringAsync());
    }
}
