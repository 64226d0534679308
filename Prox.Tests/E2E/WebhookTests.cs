using System.Text.Json;
using Prox.Actors.Webhooks;
using Prox.Tests.Infrastructure;
using Xunit;

namespace Prox.Tests.E2E;

/// <summary>Webhooks end to end: real backends fail health checks, a real receiver gets the events.</summary>
public class WebhookTests
{
    private const string Secret = "s3cret-for-tests";

    // fast active health checks: one failed probe takes a backend down, one passing probe brings it back
    private static string Route(Uri backend) => $$"""
        routes.r {
          health { path = "/", interval = 100ms, timeout = 80ms, jitter = 0, healthy-after = 1, unhealthy-after = 1,
                   unhealthy-interval = 50ms, max-unhealthy-interval = 100ms }
          backends = [ { id = a, url = "{{backend}}" } ]
        }
        """;

    private static string Webhook(Uri receiver, string events = """["backend-down", "backend-up", "pool-down", "pool-up"]""",
        string otherHooks = "") => $$"""
        webhooks = [
          { name = ops, url = "{{receiver}}", events = {{events}}, secret = "{{Secret}}", format = json,
            timeout = 2s, backoff = 50ms, max-backoff = 200ms }
          {{otherHooks}}
        ]
        """;

    private static async Task<JsonElement> HookStatusAsync(ProxUnderTest prox, string name = "ops") =>
        (await prox.StatusAsync()).GetProperty("webhooks").EnumerateArray().Single(w => w.GetProperty("name").GetString() == name);

    [Fact]
    public async Task BackendStoppedAndRestarted_ReceiverGetsDownUpAndPoolEvents_Signed()
    {
        using var data = new TempDataDir();
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var backend = await TestBackend.StartAsync("a");
        using var deadReceiver = new DeadPort();
        // a second webhook whose receiver never answers must not hold up the first
        var dead = $"{{ name = dead, url = \"{deadReceiver.Url}\", backoff = 50ms, max-backoff = 100ms }}";
        await using var prox = await ProxUnderTest.StartAsync(string.Join("\n", Route(backend.Url), Webhook(receiver.Url, otherHooks: dead), data.Hocon));

        await backend.StopAsync();
        await ProxUnderTest.EventuallyAsync(() => Task.FromResult(receiver.Types.Contains("pool-down")), what: "pool-down delivered");
        await backend.RestartAsync();
        await ProxUnderTest.EventuallyAsync(() => Task.FromResult(receiver.Types.Contains("pool-up")), what: "pool-up delivered");

        Assert.Equal(["backend-down", "pool-down", "backend-up", "pool-up"], receiver.Types);
        var down = receiver.Deliveries.First();
        Assert.True(WebhookSignature.Verify(Secret, down.Body, down.Headers["X-Prox-Signature"]));
        Assert.Equal(down.Id, down.Headers["Idempotency-Key"]);
        Assert.Equal("backend-down", down.Headers["X-Prox-Event"]);
        Assert.Equal("1", down.Headers["X-Prox-Delivery-Attempt"]);
        Assert.Equal("application/json", down.Headers.ContentType.ToString());
        Assert.Equal("r", down.Json.GetProperty("route").GetString());
        Assert.Equal("a", down.Json.GetProperty("backend").GetString());
        Assert.False(string.IsNullOrEmpty(down.Json.GetProperty("detail").GetString()));

        await ProxUnderTest.EventuallyAsync(async () => (await HookStatusAsync(prox)).GetProperty("delivered").GetInt64() == 4,
            what: "4 delivered on /status");
        var status = await HookStatusAsync(prox);
        Assert.Equal(0, status.GetProperty("pending").GetInt32());
        Assert.Equal("json", status.GetProperty("format").GetString());
        Assert.DoesNotContain(Secret, status.GetRawText());
        var stuck = await HookStatusAsync(prox, "dead");
        Assert.Equal(4, stuck.GetProperty("pending").GetInt32());
        Assert.True(stuck.GetProperty("failedAttempts").GetInt64() >= 1);
    }

    [Fact]
    public async Task ReceiverDownWhileEventsHappen_EventsArriveAfterItComesBack()
    {
        using var data = new TempDataDir();
        using var dead = new DeadPort();
        await using var receiver = await WebhookReceiver.StartAsync();
        await receiver.StopAsync();
        await using var prox = await ProxUnderTest.StartAsync(string.Join("\n", Route(dead.Url), Webhook(receiver.Url), data.Hocon));

        await ProxUnderTest.EventuallyAsync(async () =>
        {
            var s = await HookStatusAsync(prox);
            return s.GetProperty("pending").GetInt32() == 2 && s.GetProperty("failedAttempts").GetInt64() >= 2;
        }, what: "backend-down and pool-down pending, deliveries failing");
        var status = await HookStatusAsync(prox);
        Assert.Equal("connection failed", status.GetProperty("lastError").GetString());
        Assert.Equal(JsonValueKind.String, status.GetProperty("nextAttemptAt").ValueKind);

        await receiver.RestartAsync();
        await ProxUnderTest.EventuallyAsync(() => Task.FromResult(receiver.Deliveries.Count >= 2), what: "both delivered");
        Assert.Equal(["backend-down", "pool-down"], receiver.Types);
        Assert.True(int.Parse(receiver.Deliveries.First().Headers["X-Prox-Delivery-Attempt"]!) > 1);
        await ProxUnderTest.EventuallyAsync(async () => (await HookStatusAsync(prox)).GetProperty("pending").GetInt32() == 0,
            what: "outbox empty");
    }

    [Fact]
    public async Task ProxStoppedWithUndeliveredEvents_TheyArriveAfterRestart()
    {
        using var data = new TempDataDir();
        using var dead = new DeadPort();
        await using var receiver = await WebhookReceiver.StartAsync();
        await receiver.StopAsync();
        var config = string.Join("\n", Route(dead.Url), Webhook(receiver.Url, "[backend-down, pool-down]"), data.Hocon);

        string[] ids;
        await using (var first = await ProxUnderTest.StartAsync(config))
        {
            await ProxUnderTest.EventuallyAsync(async () => (await HookStatusAsync(first)).GetProperty("pending").GetInt32() == 2,
                what: "two events stored, undelivered");
            ids = (await first.StatusAsync()).GetProperty("events").EnumerateArray()
                .Select(e => e.GetProperty("id").GetString()!).ToArray();
        }

        await receiver.RestartAsync();
        await using var second = await ProxUnderTest.StartAsync(config);
        await ProxUnderTest.EventuallyAsync(() => Task.FromResult(ids.All(id => receiver.Deliveries.Any(d => d.Id == id))),
            what: "the first run's events delivered by the second");
        Assert.Equal(ids, receiver.Deliveries.Select(d => d.Id).Take(2).ToArray());
        Assert.All(receiver.Deliveries.Take(2), d => Assert.True(WebhookSignature.Verify(Secret, d.Body, d.Headers["X-Prox-Signature"])));
    }
}
