using System.Net.Http.Json;
using System.Text.Json;
using Akka.Actor;
using Microsoft.Extensions.DependencyInjection;
using Prox.Actors.Events;
using Prox.Tests.Infrastructure;
using Xunit;

namespace Prox.Tests.Cluster;

/// <summary>
/// Cluster-wide events: each node relays its events to every node's event log (DistributedPubSub) and to the one
/// Notifier (a cluster singleton), so a webhook goes out once per event, not once per node. Events are published on a
/// node's local event stream as its actors would.
/// </summary>
[Collection(ClusterCollections.Processes)]
public class ClusterEventsTests
{
    private const string Kinds = """["backend-down", "backend-up", "pool-down", "pool-up", "backend-ejected"]""";

    private static string Config(TestBackend backend, WebhookReceiver receiver) => $$"""
        routes.api.backends = [ { id = a, url = "{{backend.Url}}" } ]
        webhooks = [ { name = ops, url = "{{receiver.Url}}", events = {{Kinds}}, backoff = 50ms, max-backoff = 200ms } ]
        """;

    private static ActorSystem SystemOf(ProxUnderTest node) => node.Host.App.Services.GetRequiredService<ActorSystem>();

    /// <summary>Raises <paramref name="e"/> on <paramref name="node"/> as its own actors would, and returns it.</summary>
    private static ProxEvent Raise(ProxUnderTest node, ProxEvent e)
    {
        SystemOf(node).EventStream.Publish(e);
        return e;
    }

    /// <summary>An event the Notifier never drops (not a state: each one is news), to know that what a node raised
    /// before it has been judged.</summary>
    private static ProxEvent Marker(ProxUnderTest node, string detail) =>
        Raise(node, ProxEvent.Create(DateTimeOffset.UtcNow, ProxEventKinds.BackendEjected, "api", "a", detail));

    private static Task DeliveredAsync(WebhookReceiver receiver, ProxEvent e) =>
        ProxUnderTest.EventuallyAsync(() => Task.FromResult(receiver.Deliveries.Any(d => d.Id == e.Id)),
            TimeSpan.FromSeconds(20), $"{e.Kind} {e.Detail} delivered");

    /// <summary>Waits until every running node's events reach every node's event log. Topic subscriptions spread by
    /// gossip, so for a moment after start a node publishes to fewer nodes than there are; each node raises a probe
    /// (a kind the webhook does not want) until all logs show it.</summary>
    private static async Task TopicSpreadAsync(TestCluster cluster)
    {
        var nodes = cluster.Running.ToArray();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        foreach (var from in nodes)
        {
            while (true)
            {
                var probe = Raise(from, ProxEvent.Create(DateTimeOffset.UtcNow, ProxEventKinds.ConfigRejected, null, null, "test: topic probe"));
                try
                {
                    await ProxUnderTest.EventuallyAsync(async () =>
                    {
                        foreach (var n in nodes)
                            if (!(await AdminEventsAsync(n)).Any(e => e.GetProperty("id").GetString() == probe.Id)) return false;
                        return true;
                    }, TimeSpan.FromSeconds(2), "probe in every node's event log");
                    break;
                }
                catch (Xunit.Sdk.XunitException) when (DateTime.UtcNow < deadline)
                {
                    // published before the topic had spread to every node: raise another
                }
            }
        }
    }

    private static async Task<JsonElement[]> AdminEventsAsync(ProxUnderTest node) =>
        (await node.Admin.GetFromJsonAsync<JsonElement>("/admin/events?limit=1000")).GetProperty("events").EnumerateArray().ToArray();

    [PostgresFact]
    public async Task EventOnNode2_DeliveredOnce_CarriesNode2_InEveryNodesEventLog()
    {
        await using var backend = await TestBackend.StartAsync("a");
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var cluster = await TestCluster.StartAsync(3, Config(backend, receiver));
        await TopicSpreadAsync(cluster);
        var (n1, n2, n3) = (cluster.Nodes[0]!, cluster.Nodes[1]!, cluster.Nodes[2]!);
        var node2 = n2.Host.ClusterAddress!;

        var ejected = Raise(n2, ProxEvent.Create(DateTimeOffset.UtcNow, ProxEventKinds.BackendEjected, "api", "a", "test: 5 failures"));
        await DeliveredAsync(receiver, ejected);
        await DeliveredAsync(receiver, Marker(n2, "marker"));

        var delivery = Assert.Single(receiver.Deliveries, d => d.Id == ejected.Id);
        Assert.Equal(node2, delivery.Json.GetProperty("node").GetString());
        Assert.Equal("backend-ejected", delivery.Type);
        foreach (var n in new[] { n1, n2, n3 })
        {
            await ProxUnderTest.EventuallyAsync(async () => (await AdminEventsAsync(n)).Any(e => e.GetProperty("id").GetString() == ejected.Id),
                what: $"the event in {n.Host.ClusterAddress}'s /admin/events");
            var shown = Assert.Single(await AdminEventsAsync(n), e => e.GetProperty("id").GetString() == ejected.Id);
            Assert.Equal(node2, shown.GetProperty("node").GetString());
        }
        var onStatus = (await n3.StatusAsync()).GetProperty("events").EnumerateArray().Single(e => e.GetProperty("id").GetString() == ejected.Id);
        Assert.Equal(node2, onStatus.GetProperty("node").GetString());
        // a node that does not host the Notifier still reports it (asked across nodes)
        var hook = (await n3.StatusAsync()).GetProperty("webhooks").EnumerateArray().Single();
        Assert.True(hook.GetProperty("delivered").GetInt64() >= 2);
    }

    [PostgresFact]
    public async Task PoolDownRaisedOnEveryNode_OneWebhook()
    {
        await using var backend = await TestBackend.StartAsync("a");
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var cluster = await TestCluster.StartAsync(3, Config(backend, receiver));
        var nodes = cluster.Running.ToArray();

        var downs = nodes.Select(n => Raise(n, ProxEvent.Create(DateTimeOffset.UtcNow, ProxEventKinds.PoolDown, "api", null, "no eligible backend")))
            .ToArray();
        // each node's marker follows its pool-down on the same path, and one webhook's events go out in order:
        // once every marker is delivered, every pool-down has been kept or dropped
        foreach (var (n, i) in nodes.Select((n, i) => (n, i))) await DeliveredAsync(receiver, Marker(n, $"marker {i}"));

        var delivered = Assert.Single(receiver.Deliveries, d => d.Type == "pool-down");
        Assert.Contains(delivered.Id, downs.Select(d => d.Id));
        Assert.Equal(nodes.Length, receiver.Deliveries.Count(d => d.Json.GetProperty("detail").GetString()!.StartsWith("marker ")));
    }

    [PostgresFact]
    public async Task NodeHostingNotifierStops_EventOnSurvivorDeliveredOnce()
    {
        await using var backend = await TestBackend.StartAsync("a");
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var cluster = await TestCluster.StartAsync(3, Config(backend, receiver));
        var (n2, n3) = (cluster.Nodes[1]!, cluster.Nodes[2]!);
        // the singleton runs on the oldest node, the first started: make sure it is running there before stopping it
        await DeliveredAsync(receiver, Marker(n2, "before"));

        await cluster.StopAsync(0);
        await cluster.WaitForUpAsync(2, TimeSpan.FromSeconds(20));

        var down = Raise(n2, ProxEvent.Create(DateTimeOffset.UtcNow, ProxEventKinds.BackendDown, "api", "a", "after handover"));
        await DeliveredAsync(receiver, down);
        await DeliveredAsync(receiver, Marker(n2, "after"));
        await DeliveredAsync(receiver, Marker(n3, "after, other survivor"));

        var delivery = Assert.Single(receiver.Deliveries, d => d.Id == down.Id);
        Assert.Equal(n2.Host.ClusterAddress, delivery.Json.GetProperty("node").GetString());
        Assert.Single(receiver.Deliveries, d => d.Json.GetProperty("detail").GetString() == "before");
    }

    [PostgresFact]
    public async Task NodeHostingNotifierStopsWithUndeliveredEvent_NewSingletonDeliversItOnce()
    {
        await using var backend = await TestBackend.StartAsync("a");
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var cluster = await TestCluster.StartAsync(3, Config(backend, receiver));
        var (n2, n3) = (cluster.Nodes[1]!, cluster.Nodes[2]!);
        await DeliveredAsync(receiver, Marker(n2, "before"));

        await receiver.StopAsync();
        var down = Raise(n2, ProxEvent.Create(DateTimeOffset.UtcNow, ProxEventKinds.BackendDown, "api", "a", "while the receiver is down"));
        await ProxUnderTest.EventuallyAsync(async () =>
            (await n3.StatusAsync()).GetProperty("webhooks").EnumerateArray().Single().GetProperty("pending").GetInt32() == 1,
            what: "the event stored in the outbox, undelivered");
        await cluster.StopAsync(0);
        await cluster.WaitForUpAsync(2, TimeSpan.FromSeconds(20));
        await receiver.RestartAsync();

        await DeliveredAsync(receiver, down);
        await DeliveredAsync(receiver, Marker(n3, "after"));
        Assert.Single(receiver.Deliveries, d => d.Id == down.Id);
        Assert.Equal(["before", "while the receiver is down", "after"],
            receiver.Deliveries.Select(d => d.Json.GetProperty("detail").GetString()!).ToArray());
    }
}
