using System.Net;
using System.Text.Json;
using Akka.Actor;
using Microsoft.Extensions.DependencyInjection;
using Prox.Tests.Infrastructure;
using Xunit;

namespace Prox.Tests.Cluster;

/// <summary>Cluster mode (preview): in-process Prox nodes on Akka.Remote port 0, the first seeding itself.</summary>
public class ClusterTests
{
    /// <summary>Short timings so membership changes take well under a second (Akka's defaults are for real networks).</summary>
    private const string FastAkka = """
        akka.cluster {
          split-brain-resolver.stable-after = 2s
          gossip-interval = 200ms
          leader-actions-interval = 200ms
          unreachable-nodes-reaper-interval = 250ms
          periodic-tasks-initial-delay = 100ms
          failure-detector {
            heartbeat-interval = 200ms
            acceptable-heartbeat-pause = 1s
            expected-response-after = 200ms
          }
        }
        """;

    private static string Routes(TestBackend backend) => $$"""routes.api.backends = [ { url = "{{backend.Url}}" } ]""";

    private static string ClusterBlock(params string[] seeds) =>
        $"cluster {{ enabled = true, port = 0, seed-nodes = [{string.Join(", ", seeds.Select(s => $"\"{s}\""))}] }}";

    private static async Task<JsonElement?> ClusterOf(ProxUnderTest prox)
    {
        var status = await prox.StatusAsync();
        return status.TryGetProperty("cluster", out var c) ? c : null;
    }

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
        Assert.Null(prox.Host.ClusterAddress);
        Assert.IsType<LocalActorRefProvider>(((ExtendedActorSystem)SystemOf(prox)).Provider);
    }

    [Fact]
    public async Task SingleNode_SeedsItself_UpAndLeader_KeepMajorityDefaults()
    {
        await using var backend = await TestBackend.StartAsync("a");
        await using var prox = await ProxUnderTest.StartAsync(Routes(backend) + "\n" + ClusterBlock());
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

    [Fact]
    public async Task AkkaBlock_OverridesClusterDefaults()
    {
        await using var backend = await TestBackend.StartAsync("a");
        await using var prox = await ProxUnderTest.StartAsync(Routes(backend) + "\n" + ClusterBlock(), outside: FastAkka);

        var config = SystemOf(prox).Settings.Config;
        Assert.Equal(TimeSpan.FromSeconds(2), config.GetTimeSpan("akka.cluster.split-brain-resolver.stable-after"));
        Assert.Equal(TimeSpan.FromMilliseconds(200), config.GetTimeSpan("akka.cluster.failure-detector.heartbeat-interval"));
        Assert.Equal("keep-majority", config.GetString("akka.cluster.split-brain-resolver.active-strategy"));
    }

    [Fact]
    public async Task ThreeNodes_FormOneCluster_StopOne_OthersRemoveItAndKeepServing()
    {
        await using var backend = await TestBackend.StartAsync("a");
        var n1 = await ProxUnderTest.StartAsync(Routes(backend) + "\n" + ClusterBlock(), outside: FastAkka);
        var seed = n1.Host.ClusterAddress!;
        ProxUnderTest? n2 = null, n3 = null;
        try
        {
            var joining = await Task.WhenAll(
                ProxUnderTest.StartAsync(Routes(backend) + "\n" + ClusterBlock(seed), outside: FastAkka),
                ProxUnderTest.StartAsync(Routes(backend) + "\n" + ClusterBlock(seed), outside: FastAkka));
            (n2, n3) = (joining[0], joining[1]);
            var nodes = new[] { n1, n2, n3 };
            var addresses = nodes.Select(n => n.Host.ClusterAddress!).Order(StringComparer.Ordinal).ToArray();
            Assert.Equal(3, addresses.Distinct().Count());

            string? leader = null;
            await ProxUnderTest.EventuallyAsync(async () =>
            {
                var leaders = new HashSet<string?>();
                foreach (var n in nodes)
                {
                    if (await ClusterOf(n) is not { } c) return false;
                    var members = Members(c).ToArray();
                    if (!members.Select(m => m.Address).SequenceEqual(addresses) || members.Any(m => m.Status != "Up")) return false;
                    if (c.GetProperty("unreachable").GetArrayLength() != 0) return false;
                    leaders.Add(c.TryGetProperty("leader", out var l) ? l.GetString() : null);
                }
                leader = leaders.Single();
                return leaders.Count == 1 && leader is not null;
            }, TimeSpan.FromSeconds(10), "all three nodes see three Up members and the same leader");
            Assert.Contains(leader, addresses);

            var gone = n3.Host.ClusterAddress!;
            await n3.DisposeAsync();
            n3 = null;

            foreach (var n in new[] { n1, n2 })
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
        finally
        {
            foreach (var n in new[] { n3, n2, n1 })
                if (n is not null) await n.DisposeAsync();
        }
    }
}
