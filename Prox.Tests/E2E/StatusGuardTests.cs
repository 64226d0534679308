using System.Text.Json;
using Prox.Tests.Infrastructure;
using Xunit;

namespace Prox.Tests.E2E;

/// <summary><c>/status</c> shows every backend's guard as one <c>breaker</c> object, whether a <c>breaker {}</c> block or
/// passive ejection guards it (ejected = open).</summary>
public class StatusGuardTests
{
    [Fact]
    public async Task Status_PassiveEjection_ShownAsBreakerClosedThenOpen()
    {
        await using var ok = await TestBackend.StartAsync("ok");
        await using var bad = await FailingAsync(503);
        await using var prox = await ProxUnderTest.StartAsync($$"""
            routes.r {
              load-balancing = round-robin
              backends = [ { id = ok, url = "{{ok.Url}}" }, { id = bad, url = "{{bad.Url}}" } ]
              retries { attempts = 0 }
              passive { failures-to-eject = 2, eject-for = 30s, panic-threshold = 0% }
            }
            """);

        var before = (await prox.BackendStatusAsync("r", "bad")).GetProperty("breaker");
        Assert.Equal(("closed", "passive", 2), (Str(before, "state"), Str(before, "mode"), before.GetProperty("failuresToOpen").GetInt32()));
        Assert.False(before.TryGetProperty("openUntil", out _));

        await ProxUnderTest.EventuallyAsync(async () =>
        {
            using var _ = await prox.Client.GetAsync("/");
            return Str((await prox.BackendStatusAsync("r", "bad")).GetProperty("breaker"), "state") == "open";
        }, what: "bad ejected");

        var ejected = await prox.BackendStatusAsync("r", "bad");
        var breaker = ejected.GetProperty("breaker");
        Assert.Equal(("ejected", "passive", 1), (Str(ejected, "state"), Str(breaker, "mode"), breaker.GetProperty("openings").GetInt32()));
        Assert.Equal(ejected.GetProperty("ejectedUntil").GetDateTimeOffset(), breaker.GetProperty("openUntil").GetDateTimeOffset());
        Assert.InRange(breaker.GetProperty("remainingSeconds").GetDouble(), 1, 30);
        Assert.True(breaker.GetProperty("consecutiveFailures").GetInt32() >= 2);
        // a healthy backend without a breaker block shows a closed one
        var healthy = (await prox.BackendStatusAsync("r", "ok")).GetProperty("breaker");
        Assert.Equal(("closed", "passive", 0), (Str(healthy, "state"), Str(healthy, "mode"), healthy.GetProperty("consecutiveFailures").GetInt32()));
    }

    [Fact]
    public async Task Status_ConfiguredBreaker_ShownOpenThenHalfOpenWithItsFields()
    {
        await using var bad = await FailingAsync(502);
        await using var prox = await ProxUnderTest.StartAsync($$"""
            routes.r {
              backends = [ { id = bad, url = "{{bad.Url}}" } ]
              retries { attempts = 0 }
              passive { panic-threshold = 0% }
              breaker { consecutive-failures = 2, open-for = 1s, max-open = 1s, half-open-trials = 2 }
            }
            """);

        var closed = (await prox.BackendStatusAsync("r", "bad")).GetProperty("breaker");
        Assert.Equal(("closed", "breaker", 0), (Str(closed, "state"), Str(closed, "mode"), closed.GetProperty("windowRequests").GetInt32()));

        string? state = null;
        await ProxUnderTest.EventuallyAsync(async () =>
        {
            using var _ = await prox.Client.GetAsync("/");
            state = Str((await prox.BackendStatusAsync("r", "bad")).GetProperty("breaker"), "state");
            return state != "closed";
        }, what: "breaker opened");
        // no more traffic: the breaker stays open until its open time is over, then half-open with its trials unused
        var open = (await prox.BackendStatusAsync("r", "bad")).GetProperty("breaker");
        if (state == "open")
        {
            Assert.Equal(("breaker", 1), (Str(open, "mode"), open.GetProperty("openings").GetInt32()));
            Assert.True(open.TryGetProperty("openUntil", out _));
            Assert.InRange(open.GetProperty("remainingSeconds").GetDouble(), 0, 1);
        }
        await ProxUnderTest.EventuallyAsync(async () =>
            Str((await prox.BackendStatusAsync("r", "bad")).GetProperty("breaker"), "state") == "half-open", what: "half-open");
        var half = await prox.BackendStatusAsync("r", "bad");
        var b = half.GetProperty("breaker");
        Assert.Equal(("half-open", "breaker", 2, 2), (Str(half, "state"), Str(b, "mode"), b.GetProperty("trialsLeft").GetInt32(),
            b.GetProperty("failuresToOpen").GetInt32()));
        Assert.False(b.TryGetProperty("remainingSeconds", out _));
    }

    private static Task<TestBackend> FailingAsync(int status) =>
        TestBackend.StartAsync("bad", ctx =>
        {
            ctx.Response.StatusCode = status;
            return Task.CompletedTask;
        });

    private static string? Str(JsonElement e, string name) => e.GetProperty(name).GetString();
}
