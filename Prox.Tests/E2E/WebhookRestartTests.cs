using System.Net.Http.Json;
using System.Text.Json;
using Prox.Tests.Infrastructure;
using Xunit;

namespace Prox.Tests.E2E;

/// <summary>Events across a hard restart: the real <c>prox</c> process killed (SIGKILL) and started again on the same
/// SQLite file announces no backend or pool a second time, and announces the one that recovered meanwhile.</summary>
public class WebhookRestartTests
{
    private static string HealthChecked(string route, string id, Uri url) => $$"""
        routes.{{route}} {
          match.path-prefix = "/{{route}}"
          # a generous timeout: under load a slow answer must not pass for the backend being down
          health { path = "/", interval = 1s, timeout = 900ms, jitter = 0, healthy-after = 1, unhealthy-after = 1,
                   unhealthy-interval = 100ms, max-unhealthy-interval = 200ms }
          backends = [ { id = {{id}}, url = "{{url}}" } ]
        }
        """;

    [Fact]
    public async Task Killed_Restarted_StillDownNotAnnouncedAgain_RecoveredAnnouncedUp()
    {
        using var data = new TempDataDir();
        using var dead = new DeadPort();
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var back = await TestBackend.StartAsync("back");
        await back.StopAsync();
        var conf = Path.Combine(data.Path, "prox.conf");
        await File.WriteAllTextAsync(conf, $$"""
            prox {
              listen = "127.0.0.1:0"
              admin.listen = "127.0.0.1:0"
              {{data.Hocon}}
              {{HealthChecked("still", "dead", dead.Url)}}
              {{HealthChecked("recovers", "back", back.Url)}}
              webhooks = [ { name = ops, url = "{{receiver.Url}}", events = [backend-down, backend-up, pool-down, pool-up],
                             format = json, timeout = 2s, backoff = 50ms, max-backoff = 200ms } ]
            }
            """);

        var (first, _, _) = await ProxProcess.StartAsync(conf);
        string[] before;
        await using (first)
        {
            await ProxUnderTest.EventuallyAsync(() => Task.FromResult(receiver.Deliveries.Count >= 4), TimeSpan.FromSeconds(30),
                "both backends and both pools announced down");
            before = [.. receiver.Deliveries.Select(d => d.Id)];
            Assert.Equal(["backend-down", "backend-down", "pool-down", "pool-down"], receiver.Types.Order());
        } // disposing kills the process (SIGKILL): no drain, no graceful stop of the actors

        await back.RestartAsync();
        var (second, _, admin) = await ProxProcess.StartAsync(conf);
        await using var _ = second;
        using var client = new HttpClient { BaseAddress = admin };
        List<(string Type, string? Route, string? Backend)> Fresh() =>
        [
            .. receiver.Deliveries.Where(d => !before.Contains(d.Id)).Select(d => (d.Type, Str(d.Json, "route"), Str(d.Json, "backend"))),
        ];

        try
        {
            await ProxUnderTest.EventuallyAsync(() => Task.FromResult(Fresh().Count >= 2), TimeSpan.FromSeconds(30), "recovery announced");
        }
        catch (Exception e)
        {
            var status = await client.GetStringAsync("/status");
            throw new Xunit.Sdk.XunitException($"{e.Message}; got {string.Join(", ", Fresh())}\n{second.Stdout}\n{status}");
        }
        // the dead backend's first verdict of this run reached the Notifier (the event log shows it, marked initial)
        JsonElement deadDown = default;
        await ProxUnderTest.EventuallyAsync(async () =>
        {
            var events = (await client.GetFromJsonAsync<JsonElement>("/status")).GetProperty("events").EnumerateArray().ToList();
            deadDown = events.FirstOrDefault(e => Str(e, "kind") == "backend-down" && Str(e, "backend") == "dead");
            return deadDown.ValueKind == JsonValueKind.Object;
        }, what: "the dead backend's backend-down in this run's event log");
        Assert.True(deadDown.GetProperty("initial").GetBoolean());

        // a later transition as a marker: the Notifier judges and delivers events in order, so once it arrives anything
        // the still-down route raised at start would have arrived before it
        await back.StopAsync();
        await ProxUnderTest.EventuallyAsync(() => Task.FromResult(Fresh().Count >= 4), TimeSpan.FromSeconds(30),
            "marker announced; got " + string.Join(", ", Fresh()));
        Assert.Equal(
            [("backend-up", "recovers", "back"), ("pool-up", "recovers", null), ("backend-down", "recovers", "back"), ("pool-down", "recovers", null)],
            Fresh());
        var log = (await client.GetFromJsonAsync<JsonElement>("/status")).GetProperty("events").EnumerateArray().ToList();
        Assert.DoesNotContain(log, e => e.TryGetProperty("initial", out var i) && i.GetBoolean() && Str(e, "kind") == "backend-up");
        Assert.Contains(log, e => Str(e, "kind") == "backend-up" && Str(e, "backend") == "back");
    }

    private static string? Str(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
}
