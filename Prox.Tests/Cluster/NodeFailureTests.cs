using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Prox.Tests.Infrastructure;
using Xunit;
using Xunit.Abstractions;

namespace Prox.Tests.Cluster;

/// <summary>
/// A node of a three-node cluster dies without a goodbye (SIGKILL of the real executable): the survivors keep serving
/// every request, down and remove it, take over the backends it owned and probe them; restarted on the same config it
/// rejoins and agrees with them.
/// </summary>
[Collection(ClusterCollections.Processes)]
public sealed class NodeFailureTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Within = TimeSpan.FromSeconds(30);

    /// <summary>One node as a child process on the shared config file: its own cluster port (seeds are named by address,
    /// so it is fixed) from <c>PROX_CLUSTER_PORT</c>; the HTTP listeners take port 0.</summary>
    private sealed class Node(int index, string configFile, int clusterPort) : IAsyncDisposable
    {
        public int Index { get; } = index;
        public string ConfigFile { get; } = configFile;
        public string Address { get; } = $"akka.tcp://prox@127.0.0.1:{clusterPort}";
        public ProxProcess? Process { get; private set; }
        public HttpClient Client { get; private set; } = null!;
        public HttpClient Admin { get; private set; } = null!;

        public async Task StartAsync()
        {
            var (process, proxy, admin) = await ProxProcess.StartAsync(ConfigFile,
                new Dictionary<string, string> { ["PROX_CLUSTER_PORT"] = clusterPort.ToString(System.Globalization.CultureInfo.InvariantCulture) });
            Process = process;
            Client = new HttpClient { BaseAddress = proxy, Timeout = TimeSpan.FromSeconds(10) };
            Admin = new HttpClient { BaseAddress = admin, Timeout = TimeSpan.FromSeconds(10) };
        }

        public async Task KillAsync()
        {
            await Process!.SignalAsync("KILL");
            Assert.NotNull(await Process.WaitForExitAsync(TimeSpan.FromSeconds(10)));
            await DisposeAsync();
        }

        public async Task<JsonElement> StatusAsync()
        {
            using var resp = await Admin.GetAsync("/status");
            resp.EnsureSuccessStatusCode();
            return JsonDocument.Parse(await resp.Content.ReadAsStringAsync()).RootElement.Clone();
        }

        public override string ToString() => $"node {Index + 1} ({Address})";

        public async ValueTask DisposeAsync()
        {
            if (Process is null) return;
            Client.Dispose();
            Admin.Dispose();
            await Process.DisposeAsync();
            Process = null;
        }
    }

    private sealed record View(string[] Up, string[] Unreachable, Dictionary<string, (string State, string? Owner)> Backends);

    private static async Task<View> ViewOf(Node node)
    {
        var status = await node.StatusAsync();
        var cluster = status.GetProperty("cluster");
        var up = cluster.GetProperty("members").EnumerateArray()
            .Where(m => m.GetProperty("status").GetString() == "Up").Select(m => m.GetProperty("address").GetString()!).Order(StringComparer.Ordinal).ToArray();
        var unreachable = cluster.GetProperty("unreachable").EnumerateArray().Select(m => m.GetProperty("address").GetString()!).ToArray();
        var backends = status.GetProperty("routes").EnumerateArray().Single(r => r.GetProperty("name").GetString() == "r")
            .GetProperty("backends").EnumerateArray().ToDictionary(
                b => b.GetProperty("id").GetString()!,
                b => (b.GetProperty("state").GetString()!, b.TryGetProperty("owner", out var o) ? o.GetString() : null));
        return new View(up, unreachable, backends);
    }

    /// <summary>Waits until every node of <paramref name="nodes"/> sees exactly them Up and nothing unreachable, and all
    /// show each backend up with one owner among them; returns backend id → owner.</summary>
    private static async Task<Dictionary<string, string>> AgreedAsync(Node[] nodes, string what, Action<View>? observe = null)
    {
        var addresses = nodes.Select(n => n.Address).Order(StringComparer.Ordinal).ToArray();
        Dictionary<string, string> owners = new();
        await ProxUnderTest.EventuallyAsync(async () =>
        {
            var views = await Task.WhenAll(nodes.Select(ViewOf));
            foreach (var v in views) observe?.Invoke(v);
            if (views.Any(v => !v.Up.SequenceEqual(addresses) || v.Unreachable.Length != 0)) return false;
            owners = views[0].Backends.ToDictionary(b => b.Key, b => b.Value.Owner ?? "");
            return views.All(v => v.Backends.All(b => b.Value.State == "up" && b.Value.Owner == owners[b.Key]))
                && owners.Values.All(addresses.Contains);
        }, Within, what);
        return owners;
    }

    private static int FreePort()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }

    /// <summary>The one config file every node runs (as config/examples/cluster.conf): the cluster port comes from the
    /// environment, so every node reads the same text and only the first start records it as a version.</summary>
    private static string Config(string[] seeds, TestBackend a, TestBackend b, PgTestDatabase db) => $$"""
        prox {
          listen = "127.0.0.1:0"
          admin.listen = "127.0.0.1:0"
          routes.r {
            health {
              path = "/healthz"
              interval = 200ms
              timeout = 150ms
              jitter = 0
              healthy-after = 2
              unhealthy-after = 2
            }
            backends = [ { id = a, url = "{{a.Url}}" }, { id = b, url = "{{b.Url}}" } ]
          }
          cluster { enabled = true, hostname = "127.0.0.1", port = 0, port = ${?PROX_CLUSTER_PORT}, seed-nodes = [{{string.Join(", ", seeds.Select(s => $"\"{s}\""))}}] }
          {{db.Hocon}}
        }
        {{TestCluster.FastAkka}}
        # the first seed forms the cluster when the second does not answer: not after Akka's default 5 s
        akka.cluster.seed-node-timeout = 1s
        """;

    private static Task<TestBackend> Backend(string name) =>
        TestBackend.StartAsync(name, ctx => ctx.Response.WriteAsync(ctx.Request.Path == "/healthz" ? "ok" : $"hello from {name}"));

    private static int Probes(TestBackend b) => b.Paths.Count(p => p == "/healthz");

    [PostgresFact]
    public async Task OwnerKilled_SurvivorsServeEverything_OwnershipMoves_ProbingResumes_NodeRejoins()
    {
        await using var a = await Backend("a");
        await using var b = await Backend("b");
        using var db = new PgTestDatabase();
        var dir = Directory.CreateTempSubdirectory("prox-kill-");
        var ports = Enumerable.Range(0, 3).Select(_ => FreePort()).ToArray();
        var seeds = ports.Take(2).Select(p => $"akka.tcp://prox@127.0.0.1:{p}").ToArray();
        var nodes = new Node[3];
        var file = Path.Combine(dir.FullName, "cluster.conf");
        await File.WriteAllTextAsync(file, Config(seeds, a, b, db));
        for (var i = 0; i < 3; i++) nodes[i] = new Node(i, file, ports[i]);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        void Phase(string what) => output.WriteLine($"{clock.Elapsed.TotalSeconds,6:F1}s {what}");
        try
        {
            // all three at once on a fresh database: the shared config history (a cluster singleton) records the file once
            await Task.WhenAll(nodes.Select(n => n.StartAsync()));
            Phase("3 processes listening");
            var owners = await AgreedAsync(nodes, "3 nodes Up everywhere, one owner per backend that all agree on");

            Phase($"cluster formed, owners agreed: {string.Join(", ", owners.Select(o => $"{o.Key} on {o.Value}"))}");

            // kill an owner, so its backends must move
            var victim = nodes.First(n => owners.ContainsValue(n.Address));
            var survivors = nodes.Where(n => n != victim).ToArray();
            var moved = owners.Where(o => o.Value == victim.Address).Select(o => o.Key).ToArray();

            using var stop = new CancellationTokenSource();
            var served = 0;
            var failures = new List<string>();
            var load = Task.WhenAll(survivors.SelectMany(n => Enumerable.Range(0, 3).Select(_ => Task.Run(async () =>
            {
                while (!stop.IsCancellationRequested)
                {
                    try
                    {
                        using var resp = await n.Client.GetAsync("/");
                        if (resp.StatusCode == HttpStatusCode.OK)
                        {
                            Interlocked.Increment(ref served);
                            continue;
                        }
                        var body = await resp.Content.ReadAsStringAsync();
                        lock (failures) failures.Add($"{n}: {(int)resp.StatusCode} {body}");
                    }
                    catch (HttpRequestException e)
                    {
                        lock (failures) failures.Add($"{n}: {e.Message}");
                    }
                }
            }))));
            await ProxUnderTest.EventuallyAsync(() => Task.FromResult(Volatile.Read(ref served) >= 50), Within, "load runs on the survivors");

            var probes = moved.ToDictionary(id => id, id => Probes(id == "a" ? a : b));
            await victim.KillAsync();
            Phase($"killed {victim} under load ({served} served so far)");

            var sawUnreachable = false;
            var newOwners = await AgreedAsync(survivors, $"the survivors remove {victim} and agree on new owners",
                v => sawUnreachable |= v.Unreachable.Contains(victim.Address));
            Assert.True(sawUnreachable, $"{victim} was seen unreachable before it was removed");
            Phase("survivors removed it and agree on new owners");
            foreach (var id in moved) Assert.NotEqual(victim.Address, newOwners[id]);
            foreach (var id in moved)
                await ProxUnderTest.EventuallyAsync(() => Task.FromResult(Probes(id == "a" ? a : b) >= probes[id] + 3), Within,
                    $"{id} probed again by its new owner");

            Phase("moved backends probed again");

            // rejoin: the same config, the same address, a new incarnation
            await victim.StartAsync();
            var rejoined = await AgreedAsync(nodes, $"{victim} Up again everywhere, with the same backend states and owners");
            Phase($"{victim} rejoined");
            using (var resp = await victim.Client.GetAsync("/"))
                Assert.Equal(HttpStatusCode.OK, resp.StatusCode);
            Assert.All(rejoined.Values, o => Assert.Contains(o, nodes.Select(n => n.Address)));

            stop.Cancel();
            await load;
            lock (failures) Assert.True(failures.Count == 0, $"{failures.Count} failed requests on the survivors:\n{string.Join("\n", failures.Take(10))}");
            Phase($"{served} requests served on the survivors, none failed");
            Assert.True(served > 100, $"{served} requests served");
        }
        finally
        {
            foreach (var n in nodes) await n.DisposeAsync();
            dir.Delete(recursive: true);
        }
    }
}
