using System.Collections.Immutable;
using System.Net;
using Prox.Actors.Caching;
using Prox.Actors.Cluster.Membership;
using Prox.Actors.ConfigHistory;
using Prox.Actors.Hocon;
using Prox.Actors.Persistence;
using Prox.Actors.Tls;
using Prox.Actors.Webhooks;

namespace Prox.Actors.Config;

/// <summary>
/// Binds the <c>prox</c> block of a parsed config to <see cref="ProxConfig"/>. Composes only: each section is bound
/// beside its capability (<c>Health/</c>, <c>Breaker/</c>, <c>Recovery/</c>, <c>Webhooks/</c>, <c>Caching/</c>, …)
/// or, for the root's own keys, by <see cref="AdminConfigBinder"/>, <see cref="RouteConfigBinder"/> and
/// <see cref="BackendConfigBinder"/>. All of them report to one <see cref="ConfigReader"/>, which keeps going after an
/// error so that one run reports every problem, each with its HOCON path, in file order.
/// </summary>
internal static class ProxConfigBinder
{
    private static readonly string[] ProxKeys = ["listen", "admin", "trusted-proxies", "limits", "routes", "webhooks", "persistence", "shutdown", "cache", "config-history", "cluster", "tls"];
    private static readonly string[] ShutdownKeys = ["drain-timeout"];
    private static readonly string[] LimitsKeys = ["max-request-body", "http2"];

    /// <summary>Returns the config when the block is valid, otherwise null and every error found.</summary>
    public static (ProxConfig? Config, ImmutableArray<ConfigError> Errors) Bind(ConfigNode.Map root)
    {
        var reader = new ConfigReader();
        var config = BindRoot(reader, root);
        return reader.ErrorCount == 0 && config is not null ? (config, []) : (null, reader.Errors);
    }

    private static ProxConfig? BindRoot(ConfigReader r, ConfigNode.Map root)
    {
        // Other blocks (akka { … }) are not ours to validate, but an unset ${VAR} or a broken value there is still an error.
        foreach (var (key, value) in root.Fields)
        {
            if (key != "prox")
                r.ReportInvalid(value, ConfigPath.Child("", key));
        }

        var node = root.Get("prox");
        if (node is null)
        {
            var typo = ConfigValues.ClosestMatch("prox", root.Fields.Select(f => f.Key));
            r.Error("prox", "missing prox { … } block" + (typo is null ? "" : $" (found '{typo}': a typo?)"));
            return null;
        }
        if (r.AsMap(node, "prox") is not { } prox)
            return null;

        // the order of the calls is the order of the errors
        r.CheckKeys(prox, "prox", ProxKeys);
        var listen = ListenerConfigBinder.Listeners(r, prox);
        var admin = AdminConfigBinder.Listen(r, prox);
        var trustedProxies = TrustedProxies(r, prox);
        var limits = Limits(r, prox);
        var routes = RouteConfigBinder.Bind(r, prox);
        var webhooks = WebhookConfigBinder.Bind(r, prox);
        var persistence = PersistenceConfigBinder.Bind(r, prox);
        var tokens = AdminConfigBinder.Tokens(r, prox);
        var shutdown = Shutdown(r, prox);
        var cache = CacheConfigBinder.BindProcess(r, prox);
        var history = ConfigHistoryConfigBinder.Bind(r, prox);
        var cluster = ClusterConfigBinder.Bind(r, prox);
        var tls = TlsConfigBinder.Bind(r, prox);
        ListenerConfigBinder.CheckListeners(r, listen, tls);
        // a redirect needs somewhere to go
        if (!(listen ?? []).Any(l => l.Address.Tls is not null))
            foreach (var route in routes.Where(x => x.RedirectToHttps))
                r.Error(ConfigPath.Child(ConfigPath.Child("prox.routes", route.Id), "redirect-to-https"),
                    "needs a TLS listener to redirect to (prox.listen with { address = …, tls { … } })");

        // the config history and the webhook outbox are shared by all nodes: one database every node reaches
        if (cluster.Enabled && !persistence.IsPostgreSql)
            r.Error("prox.persistence.provider",
                "cluster mode (prox.cluster.enabled = true) needs provider = postgresql: every node shares the config history " +
                "and the webhook outbox, and a SQLite file belongs to one machine");

        var proxyListen = listen?.Select(l => l.Address).ToList() ?? [.. ProxConfig.DefaultListen];
        AdminConfigBinder.CheckListeners(r, admin, proxyListen, tokens);

        return new ProxConfig(
            listen is null ? ProxConfig.DefaultListen : [.. listen.Select(l => l.Address)],
            (admin is null ? AdminConfig.Default : new AdminConfig([.. admin.Select(a => a.Address)]))
                with { Chaos = AdminConfigBinder.Chaos(r, prox), Tokens = tokens ?? [] },
            routes,
            trustedProxies,
            limits)
        {
            Webhooks = webhooks,
            Persistence = persistence,
            Shutdown = shutdown,
            Cache = cache,
            ConfigHistory = history,
            Cluster = cluster,
            Tls = tls,
        };
    }

    /// <summary>A list of listen addresses with the path of each; null when the key is absent (the caller applies its default).</summary>
    internal static List<(ListenAddress Address, string Path)>? ListenAddresses(ConfigReader r, ConfigNode.Map map, string parent, string key)
    {
        if (r.Strings(map, parent, key, "a host:port string") is not { } items)
            return null;
        if (map.Get(key) is ConfigNode.List { Items.IsEmpty: true })
        {
            r.Error(ConfigPath.Child(parent, key), "must list at least one address");
            return null;
        }
        var result = new List<(ListenAddress Address, string Path)>();
        foreach (var (text, path) in items)
        {
            if (!AddressValues.TryParseListenAddress(text, out var address, out var error))
                r.Error(path, error);
            else if (address.Port != 0 && result.Any(x => x.Address.SameEndpoint(address)))
                r.Error(path, $"duplicate address {address}");
            else
                result.Add((address, path));
        }
        return result;
    }

    private static ShutdownConfig Shutdown(ConfigReader r, ConfigNode.Map prox)
    {
        if (r.Section(prox, "shutdown", "prox.shutdown", ShutdownKeys) is not { } shutdown)
            return ShutdownConfig.Default;
        return r.OptionalDuration(shutdown, "prox.shutdown", "drain-timeout", allowZero: true) is { } drain
            ? new ShutdownConfig(drain)
            : ShutdownConfig.Default;
    }

    private static ImmutableArray<IPNetwork> TrustedProxies(ConfigReader r, ConfigNode.Map prox)
    {
        var result = ImmutableArray.CreateBuilder<IPNetwork>();
        foreach (var (text, path) in r.Strings(prox, "prox", "trusted-proxies", "a CIDR string") ?? [])
        {
            if (AddressValues.TryParseNetwork(text, out var network, out var error))
                result.Add(network);
            else
                r.Error(path, error);
        }
        return result.ToImmutable();
    }

    private static LimitsConfig Limits(ConfigReader r, ConfigNode.Map prox)
    {
        if (r.Section(prox, "limits", "prox.limits", LimitsKeys) is not { } limits)
            return LimitsConfig.Default;

        var http2 = TlsConfigBinder.Http2Limits(r, limits);
        const string path = "prox.limits.max-request-body";
        if (limits.Get("max-request-body") is not { } sizeNode || r.Text(sizeNode, path, "a size such as 10MB") is not { } text)
            return LimitsConfig.Default with { Http2 = http2 };
        if (ConfigValues.TryParseSize(text, out var bytes, out var error))
            return new LimitsConfig(bytes) { Http2 = http2 };
        r.Error(path, error);
        return LimitsConfig.Default with { Http2 = http2 };
    }
}
