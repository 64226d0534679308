using System.Text.Json;

namespace Prox.Tests.Infrastructure;

/// <summary>
/// A Prox cluster in this process: N real Prox nodes (Kestrel, actors, Akka.Remote on 127.0.0.1 port 0) sharing one
/// fresh PostgreSQL database; the first node seeds itself, the others join it. Needs <c>PROX_TEST_PG</c>
/// (use <c>[PostgresFact]</c>). Disposing stops every node still running, then drops the database.
/// </summary>
public sealed class TestCluster : IAsyncDisposable
{
    /// <summary>Short timings so membership changes take well under a second (Akka's defaults are for real networks).</summary>
    public const string FastAkka = """
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

    private readonly string _hocon;
    private readonly string _outside;
    private readonly List<DirectoryInfo> _dirs = new();

    private TestCluster(string hocon, string outside)
    {
        _hocon = hocon;
        _outside = outside;
    }

    public PgTestDatabase Db { get; } = new();

    /// <summary>The nodes in start order; a stopped node's entry is null.</summary>
    public List<ProxUnderTest?> Nodes { get; } = new();

    public IEnumerable<ProxUnderTest> Running => Nodes.Where(n => n is not null)!;

    /// <summary>The first node's cluster address: the seed every later node joins.</summary>
    public string Seed { get; private set; } = "";

    /// <summary>The <c>cluster { … }</c> block of a node that joins <paramref name="seeds"/> (none: seeds itself).</summary>
    public static string ClusterBlock(params string[] seeds) =>
        $"cluster {{ enabled = true, port = 0, seed-nodes = [{string.Join(", ", seeds.Select(s => $"\"{s}\""))}] }}";

    /// <summary>Starts <paramref name="count"/> nodes on <paramref name="hocon"/> (prox keys such as <c>routes</c>; the
    /// cluster and persistence blocks are added) and waits until every node sees all of them Up.</summary>
    /// <param name="outside">Text after the prox block (default: <see cref="FastAkka"/>).</param>
    public static async Task<TestCluster> StartAsync(int count, string hocon, string? outside = null)
    {
        var cluster = new TestCluster(hocon, outside ?? FastAkka);
        try
        {
            var first = await ProxUnderTest.StartAsync(cluster.NodeHocon(), outside: cluster._outside);
            cluster.Nodes.Add(first);
            cluster.Seed = first.Host.ClusterAddress!;
            var joining = await Task.WhenAll(Enumerable.Range(1, count - 1).Select(_ => cluster.StartJoiningAsync()));
            cluster.Nodes.AddRange(joining);
            await cluster.WaitForUpAsync(count);
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    private string NodeHocon() => _hocon + "\n" + (Nodes.Count == 0 ? ClusterBlock() : ClusterBlock(Seed)) + "\n" + Db.Hocon;

    private Task<ProxUnderTest> StartJoiningAsync() => ProxUnderTest.StartAsync(NodeHocon(), outside: _outside);

    /// <summary>Starts one more node that joins the seed (a rejoin after a stop, or a new node).</summary>
    public async Task<ProxUnderTest> AddNodeAsync()
    {
        var node = await StartJoiningAsync();
        Nodes.Add(node);
        return node;
    }

    /// <summary><paramref name="hocon"/> (prox keys) with the cluster block of a node that joins the seed and the shared
    /// persistence block: a full text for <c>PUT /admin/config</c> or a reload, valid on every node.</summary>
    public string JoinerHocon(string hocon) => hocon + "\n" + ClusterBlock(Seed) + "\n" + Db.Hocon;

    /// <summary>Starts one more node that joins the seed, from a config file (in a temp dir deleted on dispose) holding
    /// exactly the text a joining node started from text has, so it can be reloaded.</summary>
    public async Task<ProxUnderTest> AddFileNodeAsync()
    {
        var dir = Directory.CreateTempSubdirectory("prox-cluster-");
        _dirs.Add(dir);
        var file = Path.Combine(dir.FullName, "prox.conf");
        await File.WriteAllTextAsync(file, ProxUnderTest.ConfigText(NodeHocon()) + "\n" + _outside);
        var node = await ProxUnderTest.StartOnFileAsync(file);
        Nodes.Add(node);
        return node;
    }

    /// <summary>Stops node <paramref name="index"/> (gracefully: it leaves the cluster).</summary>
    public async Task StopAsync(int index)
    {
        if (Nodes[index] is { } n) await n.DisposeAsync();
        Nodes[index] = null;
    }

    /// <summary>Waits until every running node sees exactly <paramref name="count"/> members, all Up and reachable.</summary>
    public Task WaitForUpAsync(int count, TimeSpan? within = null) =>
        ProxUnderTest.EventuallyAsync(async () =>
        {
            foreach (var n in Running)
            {
                if (await ClusterOf(n) is not { } c) return false;
                var members = c.GetProperty("members").EnumerateArray().ToArray();
                if (members.Length != count || members.Any(m => m.GetProperty("status").GetString() != "Up")) return false;
                if (c.GetProperty("unreachable").GetArrayLength() != 0) return false;
            }
            return true;
        }, within ?? TimeSpan.FromSeconds(15), $"every running node sees {count} members Up");

    /// <summary>The <c>cluster</c> section of a node's <c>/status</c>; null in standalone mode.</summary>
    public static async Task<JsonElement?> ClusterOf(ProxUnderTest prox)
    {
        var status = await prox.StatusAsync();
        return status.TryGetProperty("cluster", out var c) ? c : null;
    }

    public async ValueTask DisposeAsync()
    {
        // the joiners first, the seed last: fewer membership changes for the survivors to gossip about
        for (var i = Nodes.Count - 1; i >= 0; i--)
        {
            try
            {
                await StopAsync(i);
            }
            catch (Exception)
            {
                // a node that fails to stop must not keep the database (or the other nodes) alive
            }
        }
        Db.Dispose();
        foreach (var dir in _dirs) dir.Delete(recursive: true);
    }
}
