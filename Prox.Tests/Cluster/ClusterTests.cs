using System.Net;
using System.Text.Json;
using Akka.Actor;
using Microsoft.Extensions.DependencyInjection;
using Prox.Tests.Infrastructure;
using Xunit;

namespace Prox.Tests.Cluster;

/// <summary>Cluster mode (preview): in-process Prox nodes on Akka.Remote port 0, the first seeding itself.</summary>
[Collection(ClusterCollections.InProcess)]
public class ClusterTests
{
    private static string Routes(TestBackend backend) => $$"""routes.api.backends = [ { url = "{{backend.Url}}" } ]""";

    private static Task<JsonElement?> ClusterOf(ProxUnderTest prox) => TestCluster.ClusterOf(prox);

    private static IEnumerable<(string Address, string Status)> Members(JsonElement cluster) =>
        cluster.GetProperty("members").EnumerateArray()
            .Select(m => (m.GetProperty("address").GetString()!, m.GetProperty("status").GetString()!));

    private static ActorSystem SystemOf(ProxUnderTest prox) => prox.Host.App.Services.GetRequiredService<ActorSystem>();

    [Fact]
    public async Task Standalone_NoClusterInStatus_LocalProvider()
    {
        await using var backend = await TestBackend.StartAsync("a");
        await using var prox = await ProxUnderTest.StartAsync(Routes(backend));

        Assert.Null(await ClusterOf(prox));
        Assert.False((await prox.StatusAsync()).TryGetProperty("configVersion", out _)); // cluster mode only
        Assert.Null(prox.Host.ClusterAddress);
        Assert.IsType<LocalActorRefProvider>(((ExtendedActorSystem)SystemOf(prox)).Provider);
    }

    [PostgresFact]
    public async Task SingleNode_SeedsItself_UpAndLeader_KeepMajorityDefaults()
    {
        await using var backend = await TestBackend.StartAsync("a");
        // outside = "": Akka's and Prox's own cluster defaults, not the tests' fast timings
        await using var cluster = await TestCluster.StartAsync(1, Routes(backend), outside: "");
        var prox = cluster.Nodes[0]!;
        var self = prox.Host.ClusterAddress!;
        Assert.StartsWith("akka.tcp://prox@127.0.0.1:", self);
        Assert.True(int.Parse(self[(self.LastIndexOf(':') + 1)..]) > 0, $"{self}: the bound port, not 0");

        await ProxUnderTest.EventuallyAsync(async () =>
            await ClusterOf(prox) is { } c && c.TryGetProperty("leader", out var l) && l.GetString() == self
            && Members(c).SequenceEqual([(self, "Up")]), what: "one Up member, itself the leader");

        var config = SystemOf(prox).Settings.Config;
        Assert.Equal("keep-majority", config.GetString("akka.cluster.split-brain-resolver.active-strategy"));
        Assert.Equal(TimeSpan.FromSeconds(20), config.GetTimeSpan("akka.cluster.split-brain-resolver.stable-after"));
        Assert.Contains("SplitBrainResolverProvider", config.GetString("akka.cluster.downing-provider-class"));
        Assert.Equal(HttpStatusCode.OK, (await prox.Client.GetAsync("/x")).StatusCode);
    }

    [PostgresFact]
    public async Task AkkaBlock_OverridesClusterDefaults()
    {
        await using var backend = await TestBackend.StartAsync("a");
        await using var cluster = await TestCluster.StartAsync(1, Routes(backend));
        var prox = cluster.Nodes[0]!;

        var config = SystemOf(prox).Settings.Config;
        Assert.Equal(TimeSpan.FromSeconds(2), config.GetTimeSpan("akka.cluster.split-brain-resolver.stable-after"));
        Assert.Equal(TimeSpan.FromMilliseconds(200), config.GetTimeSpan("akka.cluster.failure-detector.heartbeat-interval"));
        Assert.Equal("keep-majority", config.GetString("akka.cluster.split-brain-resolver.active-strategy"));
    }

    [PostgresFact]
    public async Task ThreeNodes_FormOneCluster_StopOne_OthersRemoveItAndKeepServing()
    {
        await using var backend = await TestBackend.StartAsync("a");
        await using var cluster = await TestCluster.StartAsync(3, Routes(backend));
        var nodes = cluster.Nodes.Select(n => n!).ToArray();
        var addresses = nodes.Select(n => n.Host.ClusterAddress!).Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(3, addresses.Distinct().Count());

        string? leader = null;
        await ProxUnderTest.EventuallyAsync(async () =>
        {
            var leaders = new HashSet<string?>();
            foreach (var n in nodes)
            {
                var c = (await ClusterOf(n))!.Value;
                if (!Members(c).Select(m => m.Address).SequenceEqual(addresses)) return false;
                leaders.Add(c.TryGetProperty("leader", out var l) ? l.GetString() : null);
            }
            leader = leaders.Single();
            return leaders.Count == 1 && leader is not null;
        }, TimeSpan.FromSeconds(10), "all three nodes see the same three members and the same leader");
        Assert.Contains(leader, addresses);

        var gone = nodes[2].Host.ClusterAddress!;
        await cluster.StopAsync(2);
        foreach (var n in nodes[..2])
        {
            await ProxUnderTest.EventuallyAsync(async () =>
            {
                var c = (await ClusterOf(n))!.Value;
                var members = Members(c).ToArray();
                var unreachable = c.GetProperty("unreachable").EnumerateArray().Select(u => u.GetProperty("address").GetString());
                return members.Count(m => m.Status == "Up") == 2
                       && (members.All(m => m.Address != gone) || unreachable.Contains(gone));
            }, TimeSpan.FromSeconds(10), "the stopped node is removed or unreachable");
            Assert.Equal(HttpStatusCode.OK, (await n.Client.GetAsync("/after")).StatusCode);
        }
    }

    [Fact]
    public void ClusterWithSqlite_IsAConfigError()
    {
        var parsed = Prox.Actors.Config.ProxConfigParser.ParseText(
            ProxUnderTest.ConfigText("routes.api.backends = [ { url = \"http://127.0.0.1:1\" } ]\n" + TestCluster.ClusterBlock()));
        Assert.False(parsed.IsValid);
        Assert.Contains(parsed.Errors, e => e.Path == "prox.persistence.provider" && e.Message.Contains("postgresql"));
    }
}
