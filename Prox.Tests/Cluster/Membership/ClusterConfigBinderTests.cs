using Prox.Actors.Config;
using Xunit;

namespace Prox.Tests.Cluster.Membership;

/// <summary><c>prox.cluster</c>: off by default; node addresses must be <c>akka.tcp://prox@host:port</c>.</summary>
public sealed class ClusterConfigBinderTests
{
    // cluster mode needs PostgreSQL (a separate test covers that error)
    private const string Route = """
        routes.api { backends = [{ url = "http://127.0.0.1:5001" }] }
        persistence { provider = postgresql, connection-string = "Host=db;Database=prox" }
        """;

    private static ConfigParseResult Parse(string body) => ProxConfigParser.ParseText($"prox {{\n{Route}\n{body}\n}}\n");

    private static string[] Errors(string body) => Parse(body).Errors.Select(e => e.ToString()).ToArray();

    [Fact]
    public void Absent_DisabledWithDefaults()
    {
        var c = Parse("").Config!.Cluster;
        Assert.False(c.Enabled);
        Assert.Equal("127.0.0.1", c.Hostname);
        Assert.Equal(4053, c.Port);
        Assert.Equal(["akka.tcp://prox@127.0.0.1:4053"], c.SeedNodes.ToArray());
        Assert.Empty(c.Roles);
    }

    [Fact]
    public void Full_Bound()
    {
        var result = Parse("""
            cluster {
              enabled = true
              hostname = "10.0.0.5"
              port = 4060
              seed-nodes = ["akka.tcp://prox@10.0.0.4:4053", "akka.tcp://prox@proxy-b.internal:4053", "akka.tcp://prox@[::1]:4053"]
              roles = [edge, eu-west_1]
            }
            """);
        Assert.True(result.IsValid, string.Join(Environment.NewLine, result.Errors));
        var c = result.Config!.Cluster;
        Assert.True(c.Enabled);
        Assert.Equal("10.0.0.5", c.Hostname);
        Assert.Equal(4060, c.Port);
        Assert.Equal(["akka.tcp://prox@10.0.0.4:4053", "akka.tcp://prox@proxy-b.internal:4053", "akka.tcp://prox@[::1]:4053"], c.SeedNodes.ToArray());
        Assert.Equal(["edge", "eu-west_1"], c.Roles.ToArray());
        Assert.False(c.SeedsItself);
    }

    [Fact]
    public void EmptySeedNodes_PortZero_SeedsItself()
    {
        var c = Parse("cluster { enabled = true, port = 0, seed-nodes = [] }").Config!.Cluster;
        Assert.True(c.SeedsItself);
        Assert.Equal(0, c.Port);
    }

    [Theory]
    [InlineData("cluster.enabled = maybe", "prox.cluster.enabled: expected true or false, got 'maybe'")]
    [InlineData("cluster.port = 70000", "prox.cluster.port: must be an integer from 0 to 65535, got '70000'")]
    [InlineData("cluster.port = -1", "prox.cluster.port: must be an integer from 0 to 65535, got '-1'")]
    [InlineData("cluster.hostname = \"not a host\"", "prox.cluster.hostname: 'not a host' is not a host name or IP address")]
    [InlineData("cluster.seed-node = []", "prox.cluster.seed-node: unknown key (did you mean 'seed-nodes'?)")]
    [InlineData("cluster.seed-nodes = \"akka.tcp://prox@a:1\"", "prox.cluster.seed-nodes: expected a list of addresses such as [\"akka.tcp://prox@10.0.0.1:4053\"], got 'akka.tcp://prox@a:1'")]
    [InlineData("cluster.seed-nodes = [\"10.0.0.1:4053\"]", "prox.cluster.seed-nodes[0]: '10.0.0.1:4053' is not a node address (expected akka.tcp://prox@10.0.0.1:4053)")]
    [InlineData("cluster.seed-nodes = [\"akka://prox@10.0.0.1:4053\"]", "prox.cluster.seed-nodes[0]: 'akka://prox@10.0.0.1:4053' is not a node address (expected akka.tcp://prox@10.0.0.1:4053)")]
    [InlineData("cluster.seed-nodes = [\"akka.tcp://prox@10.0.0.1\"]", "prox.cluster.seed-nodes[0]: 'akka.tcp://prox@10.0.0.1' is not a node address (expected akka.tcp://prox@10.0.0.1:4053)")]
    [InlineData("cluster.seed-nodes = [\"akka.tcp://other@10.0.0.1:4053\"]", "prox.cluster.seed-nodes[0]: 'akka.tcp://other@10.0.0.1:4053' names actor system 'other'; every Prox node's is 'prox' (expected akka.tcp://prox@10.0.0.1:4053)")]
    [InlineData("cluster.seed-nodes = [\"akka.tcp://prox@10.0.0.1:0\"]", "prox.cluster.seed-nodes[0]: 'akka.tcp://prox@10.0.0.1:0' has port 0; a seed node's port must be from 1 to 65535")]
    [InlineData("cluster.seed-nodes = [\"akka.tcp://prox@10.0.0.1:70000\"]", "prox.cluster.seed-nodes[0]: 'akka.tcp://prox@10.0.0.1:70000' has port 70000; a seed node's port must be from 1 to 65535")]
    [InlineData("cluster.seed-nodes = [\"akka.tcp://prox@a:1\", \"akka.tcp://prox@a:1\"]", "prox.cluster.seed-nodes[1]: duplicate seed node 'akka.tcp://prox@a:1' (also prox.cluster.seed-nodes[0])")]
    [InlineData("cluster.roles = [\"a b\"]", "prox.cluster.roles[0]: 'a b' is not a role name (1-64 letters, digits, '-' or '_')")]
    [InlineData("cluster.roles = [a, a]", "prox.cluster.roles[1]: duplicate role 'a'")]
    [InlineData("cluster = on", "prox.cluster: expected an object { … }, got 'on'")]
    public void Invalid_ErrorWithPath(string body, string error) => Assert.Equal([error], Errors(body));
}
