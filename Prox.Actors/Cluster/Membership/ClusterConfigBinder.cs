using System.Collections.Immutable;
using System.Text.RegularExpressions;
using Prox.Actors.Hocon;

namespace Prox.Actors.Cluster.Membership;

/// <summary>Binds <c>prox.cluster</c> to <see cref="ClusterConfig"/>.</summary>
internal static partial class ClusterConfigBinder
{
    private static readonly string[] ClusterKeys = ["enabled", "hostname", "port", "seed-nodes", "roles"];

    // akka.tcp://prox@host:port, host a name, an IPv4 address or a bracketed IPv6 address
    [GeneratedRegex(@"^akka\.tcp://(?<system>[^@/]*)@(?<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):(?<port>[0-9]{1,5})$")]
    private static partial Regex SeedAddress();

    [GeneratedRegex(@"^(\[[0-9A-Fa-f:.]+\]|[0-9A-Fa-f:]*:[0-9A-Fa-f:.]*|[A-Za-z0-9._-]{1,253})$")]
    private static partial Regex HostName();

    /// <summary>The block's settings; <see cref="ClusterConfig.Default"/> (off) when it is absent.</summary>
    public static ClusterConfig Bind(ConfigReader r, ConfigNode.Map prox)
    {
        const string path = "prox.cluster";
        var defaults = ClusterConfig.Default;
        if (r.Section(prox, "cluster", path, ClusterKeys) is not { } cluster)
            return defaults;

        var enabled = r.Bool(cluster, path, "enabled", defaults.Enabled);
        var hostname = defaults.Hostname;
        var hostPath = ConfigPath.Child(path, "hostname");
        if (cluster.Get("hostname") is { } hostNode && r.Text(hostNode, hostPath, "a host name or IP address") is { } host)
        {
            if (host.Length == 0 || !HostName().IsMatch(host))
                r.Error(hostPath, $"'{ConfigReader.Clip(host)}' is not a host name or IP address");
            else hostname = host;
        }
        var port = r.Int(cluster, path, "port", defaults.Port, 0, 65535);

        var seeds = defaults.SeedNodes;
        var seedsPath = ConfigPath.Child(path, "seed-nodes");
        if (cluster.Get("seed-nodes") is { } seedsNode && r.AsList(seedsNode, seedsPath, "a list of addresses such as [\"akka.tcp://prox@10.0.0.1:4053\"]") is { } list)
        {
            var result = ImmutableArray.CreateBuilder<string>();
            var seen = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            for (var i = 0; i < list.Items.Length; i++)
            {
                var itemPath = ConfigPath.Index(seedsPath, i);
                if (r.Text(list.Items[i], itemPath, "an address such as \"akka.tcp://prox@10.0.0.1:4053\"") is not { } text)
                    continue;
                if (SeedNode(r, text, itemPath) is not { } seed)
                    continue;
                if (!seen.TryAdd(seed, itemPath))
                {
                    r.Error(itemPath, $"duplicate seed node '{ConfigReader.Clip(seed)}' (also {seen[seed]})");
                    continue;
                }
                result.Add(seed);
            }
            seeds = result.ToImmutable();
        }

        var roles = ImmutableArray<string>.Empty;
        if (r.Strings(cluster, path, "roles", "a role name") is { } roleItems)
        {
            var rb = ImmutableArray.CreateBuilder<string>();
            foreach (var (role, rolePath) in roleItems)
            {
                if (role.Length is 0 or > 64 || !ConfigValues.IsPlainKey(role))
                    r.Error(rolePath, $"'{ConfigReader.Clip(role)}' is not a role name (1-64 letters, digits, '-' or '_')");
                else if (rb.Contains(role))
                    r.Error(rolePath, $"duplicate role '{role}'");
                else rb.Add(role);
            }
            roles = rb.ToImmutable();
        }

        return new ClusterConfig(enabled, hostname, port, seeds, roles);
    }

    private static string? SeedNode(ConfigReader r, string text, string path)
    {
        const string example = "akka.tcp://prox@10.0.0.1:4053";
        var m = SeedAddress().Match(text);
        if (!m.Success)
        {
            r.Error(path, $"'{ConfigReader.Clip(text)}' is not a node address (expected {example})");
            return null;
        }
        if (m.Groups["system"].Value != ClusterConfig.SystemName)
        {
            r.Error(path, $"'{ConfigReader.Clip(text)}' names actor system '{ConfigReader.Clip(m.Groups["system"].Value)}'; every Prox node's is '{ClusterConfig.SystemName}' (expected {example})");
            return null;
        }
        if (!int.TryParse(m.Groups["port"].Value, out var port) || port is < 1 or > 65535)
        {
            r.Error(path, $"'{ConfigReader.Clip(text)}' has port {m.Groups["port"].Value}; a seed node's port must be from 1 to 65535");
            return null;
        }
        return text;
    }
}
