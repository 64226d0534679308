using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Prox.Tests.Infrastructure;
using Xunit;

namespace Prox.Tests.Cluster;

/// <summary>
/// The shared ConfigStore (cluster mode): one history with one version sequence in the shared PostgreSQL database;
/// a change applied on any node (admin API or file) is applied on every node; a node that starts later catches up.
/// </summary>
[Collection(ClusterCollections.InProcess)]
public class SharedConfigTests
{
    private static readonly TimeSpan Propagation = TimeSpan.FromSeconds(20);

    private static string Api(TestBackend backend) => $$"""routes.api.backends = [ { url = "{{backend.Url}}" } ]""";

    /// <summary>The api route plus a second route on <c>/new</c> to <paramref name="extra"/>.</summary>
    private static string WithNewRoute(TestBackend api, TestBackend extra) => Api(api) + "\n" + $$"""
        routes.extra { match.path-prefix = "/new", backends = [ { url = "{{extra.Url}}" } ] }
        """;

    private static async Task<HttpResponseMessage> Put(ProxUnderTest node, string text, string comment)
    {
        var req = new HttpRequestMessage(HttpMethod.Put, "/admin/config?comment=" + Uri.EscapeDataString(comment))
        {
            Content = new StringContent(text, Encoding.UTF8, "text/plain"),
        };
        return await node.Admin.SendAsync(req);
    }

    private static async Task<long> PutOk(ProxUnderTest node, string text, string comment)
    {
        using var put = await Put(node, text, comment);
        Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        return (await put.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("version").GetInt64();
    }

    private static async Task<string?> Body(ProxUnderTest node, string path)
    {
        using var resp = await node.Client.GetAsync(path);
        return resp.IsSuccessStatusCode ? await resp.Content.ReadAsStringAsync() : null;
    }

    private static async Task<long[]> VersionNumbers(ProxUnderTest node) =>
        [.. (await node.Admin.GetFromJsonAsync<JsonElement>("/admin/config/versions")).GetProperty("versions")
            .EnumerateArray().Select(v => v.GetProperty("version").GetInt64())];

    /// <summary>The config version a node says it runs (<c>configVersion</c> on its <c>/status</c>).</summary>
    private static async Task<long> RunningVersion(ProxUnderTest node) =>
        (await node.StatusAsync()).GetProperty("configVersion").GetInt64();

    /// <summary>Waits until every running node runs version <paramref name="version"/> and serves <paramref name="path"/>
    /// from <paramref name="expected"/>.</summary>
    private static Task AllServe(TestCluster cluster, long version, string path, TestBackend expected) =>
        ProxUnderTest.EventuallyAsync(async () =>
        {
            foreach (var n in cluster.Running)
                if (await RunningVersion(n) != version || await Body(n, path) != $"hello from {expected.Name}")
                    return false;
            return true;
        }, Propagation, $"every node runs version {version} and serves {path} from {expected.Name}");

    [PostgresFact]
    public async Task PutOnOneNode_AppliedOnAll_OneHistory()
    {
        await using var a = await TestBackend.StartAsync("a");
        await using var b = await TestBackend.StartAsync("b");
        await using var cluster = await TestCluster.StartAsync(3, Api(a));
        var nodes = cluster.Running.ToArray();
        foreach (var n in nodes)
            Assert.Equal("hello from a", await Body(n, "/new")); // the api route matches every path until /new has its own

        var version = await PutOk(nodes[0], ProxUnderTest.ConfigText(cluster.JoinerHocon(WithNewRoute(a, b))), "add /new");

        await AllServe(cluster, version, "/new", b);
        var history = await VersionNumbers(nodes[0]);
        Assert.Equal(version, history[0]);
        foreach (var n in nodes[1..])
        {
            Assert.Equal(history, await VersionNumbers(n));
            var current = await n.Admin.GetFromJsonAsync<JsonElement>("/admin/config");
            Assert.Equal((version, "api", "add /new"), (current.GetProperty("version").GetInt64(),
                current.GetProperty("source").GetString(), current.GetProperty("comment").GetString()));
        }
        Assert.Equal("hello from a", await Body(nodes[2], "/"));

        // only the node that made the change raised config-applied (counted by event id, so a cluster-wide event
        // relay showing one event on every node still counts once): webhooks fire once per change
        var ids = new HashSet<string>();
        await ProxUnderTest.EventuallyAsync(async () =>
        {
            foreach (var n in nodes)
                foreach (var e in (await n.Admin.GetFromJsonAsync<JsonElement>("/admin/events?limit=1000")).GetProperty("events").EnumerateArray())
                    if (e.GetProperty("kind").GetString() == "config-applied" && e.GetProperty("detail").GetString()!.Contains($"(version {version}, "))
                        ids.Add(e.GetProperty("id").GetString()!);
            return ids.Count > 0;
        }, what: "a config-applied event for the change");
        Assert.Single(ids);
    }

    [PostgresFact]
    public async Task FileReloadOnOneNode_ReachesTheOthers()
    {
        await using var a = await TestBackend.StartAsync("a");
        await using var b = await TestBackend.StartAsync("b");
        await using var cluster = await TestCluster.StartAsync(2, Api(a));
        var fileNode = await cluster.AddFileNodeAsync();
        await cluster.WaitForUpAsync(3);

        var reloaded = await fileNode.ReloadAsync(cluster.JoinerHocon(WithNewRoute(a, b)));

        Assert.True(reloaded is { Ok: true, Recorded: true }, string.Join("; ", reloaded.Errors));
        await AllServe(cluster, reloaded.Version!.Number, "/new", b);
        foreach (var n in cluster.Running)
            Assert.Equal(reloaded.Version.Number, (await VersionNumbers(n))[0]);
    }

    [PostgresFact]
    public async Task NodeStartedAfterAChange_ServesTheLatestVersion()
    {
        await using var a = await TestBackend.StartAsync("a");
        await using var b = await TestBackend.StartAsync("b");
        await using var cluster = await TestCluster.StartAsync(3, Api(a));
        await cluster.StopAsync(2);
        await cluster.WaitForUpAsync(2);

        var version = await PutOk(cluster.Nodes[0]!, ProxUnderTest.ConfigText(cluster.JoinerHocon(WithNewRoute(a, b))), "while one was away");
        await AllServe(cluster, version, "/new", b);
        var rejoined = await cluster.AddNodeAsync();

        // serving from its first request: it starts on the latest version, not on its own (older) text
        Assert.Equal("hello from b", await Body(rejoined, "/new"));
        Assert.Equal(version, await RunningVersion(rejoined));
        await cluster.WaitForUpAsync(3);
        await AllServe(cluster, version, "/new", b);
    }

    [PostgresFact]
    public async Task NodeRunningTheStoreLeaves_StoreMoves_HistoryAndNumberingContinue()
    {
        await using var a = await TestBackend.StartAsync("a");
        await using var b = await TestBackend.StartAsync("b");
        await using var c = await TestBackend.StartAsync("c");
        await using var cluster = await TestCluster.StartAsync(3, Api(a));
        var first = await PutOk(cluster.Nodes[0]!, ProxUnderTest.ConfigText(cluster.JoinerHocon(Api(b))), "to b");
        await AllServe(cluster, first, "/", b);

        // the first node is the oldest: it runs the singleton, which now moves to the next oldest
        await cluster.StopAsync(0);
        await cluster.WaitForUpAsync(2);
        var second = await PutOk(cluster.Nodes[2]!, ProxUnderTest.ConfigText(cluster.JoinerHocon(Api(c))), "to c");

        Assert.Equal(first + 1, second);
        await AllServe(cluster, second, "/", c);
        foreach (var n in cluster.Running)
            Assert.Equal([second, first], (await VersionNumbers(n))[..2]);
    }

    [PostgresFact]
    public async Task SimultaneousChangesOnTwoNodes_AllEndOnTheHighestVersion()
    {
        await using var a = await TestBackend.StartAsync("a");
        await using var b = await TestBackend.StartAsync("b");
        await using var c = await TestBackend.StartAsync("c");
        await using var cluster = await TestCluster.StartAsync(3, Api(a));
        var nodes = cluster.Running.ToArray();

        var toB = PutOk(nodes[0], ProxUnderTest.ConfigText(cluster.JoinerHocon(Api(b))), "to b");
        var toC = PutOk(nodes[1], ProxUnderTest.ConfigText(cluster.JoinerHocon(Api(c))), "to c");
        var (vb, vc) = (await toB, await toC);

        Assert.NotEqual(vb, vc);
        var (highest, winner) = vb > vc ? (vb, b) : (vc, c);
        await AllServe(cluster, highest, "/", winner);
        foreach (var n in nodes)
            Assert.Equal(highest, (await VersionNumbers(n))[0]);
    }
}
