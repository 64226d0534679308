using System.Collections.Immutable;
using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using Prox.Actors.Breaker;
using Prox.Actors.Health;
using Prox.Actors.Recovery;

namespace Prox.Actors.Config;

/// <summary>
/// Binds the <c>prox</c> block of a parsed config to <see cref="ProxConfig"/>. Keeps going after an error
/// so that one run reports every problem, each with its HOCON path.
/// </summary>
internal sealed partial class ProxConfigBinder
{
    private static readonly string[] ProxKeys = ["listen", "admin", "trusted-proxies", "limits", "routes", "webhooks", "persistence", "shutdown", "cache", "config-history", "cluster"];
    private static readonly string[] AdminKeys = ["listen", "chaos", "tokens"];
    private static readonly string[] AdminTokenKeys = ["name", "sha256", "role"];
    private static readonly string[] ShutdownKeys = ["drain-timeout"];
    private static readonly string[] LimitsKeys = ["max-request-body"];
    private static readonly string[] RouteKeys =
        ["match", "strip-prefix", "load-balancing", "backends", "timeouts", "retries", "passive", "backend-header", "preserve-host", "health", "breaker", "recovery", "dedup", "cache"];
    private static readonly string[] DedupKeys = ["enabled", "methods", "key", "headers", "max-body", "window", "post"];
    private static readonly string[] MatchKeys = ["path-prefix", "hosts"];
    private static readonly string[] BackendKeys = ["url", "weight", "id", "timeout", "drain", "health", "breaker", "recovery"];
    private static readonly string[] TimeoutKeys = ["connect", "request"];
    private static readonly string[] RetryKeys = ["attempts", "backoff", "max-backoff", "on", "non-idempotent"];
    private static readonly string[] PassiveKeys = ["failures-to-eject", "eject-for", "max-eject-for"];
    private static readonly string[] HealthKeys =
    [
        "path", "interval", "timeout", "jitter", "expect", "healthy-after", "unhealthy-after",
        "unhealthy-interval", "max-unhealthy-interval", "history",
    ];
    private static readonly string[] ExpectKeys = ["status", "body-contains"];
    private static readonly string[] BreakerKeys =
    [
        "consecutive-failures", "failure-rate", "window", "minimum-requests", "open-for", "max-open", "half-open-trials",
    ];
    private static readonly string[] RecoveryKeys = ["after", "backoff", "max-backoff", "timeout", "http", "command"];
    private static readonly string[] RecoveryHttpKeys = ["url", "method", "headers", "body"];

    private static readonly (string Name, LoadBalancingPolicy Policy)[] Policies =
    [
        ("round-robin", LoadBalancingPolicy.RoundRobin),
        ("weighted-round-robin", LoadBalancingPolicy.WeightedRoundRobin),
        ("random", LoadBalancingPolicy.Random),
        ("weighted-random", LoadBalancingPolicy.WeightedRandom),
        ("least-connections", LoadBalancingPolicy.LeastConnections),
        ("least-latency", LoadBalancingPolicy.LeastLatency),
    ];

    private const int MaxRetryAttempts = 10;
    private const int MaxHealthThreshold = 100;
    private const int MaxHealthHistory = 10_000;
    private const decimal MaxJitter = 0.5m;
    private const int MaxBreakerCount = 1_000_000;
    private const int MaxHalfOpenTrials = 100;
    private const long MaxDedupBody = 64L << 20;

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")]
    private static partial Regex RouteId();

    [GeneratedRegex("^[A-Za-z0-9_-]+$")]
    private static partial Regex PlainKey();

    private readonly List<ConfigError> _errors = [];

    private ProxConfigBinder()
    {
    }

    /// <summary>Returns the config when the block is valid, otherwise null and every error found.</summary>
    public static (ProxConfig? Config, ImmutableArray<ConfigError> Errors) Bind(ConfigNode.Map root)
    {
        var binder = new ProxConfigBinder();
        var config = binder.BindRoot(root);
        return binder._errors.Count == 0 && config is not null ? (config, []) : (null, [.. binder._errors]);
    }

    private ProxConfig? BindRoot(ConfigNode.Map root)
    {
        // Other blocks (akka { … }) are not ours to validate, but an unset ${VAR} or a broken value there is still an error.
        foreach (var (key, value) in root.Fields)
        {
            if (key != "prox")
                ReportInvalid(value, Child("", key));
        }

        var node = root.Get("prox");
        if (node is null)
        {
            var typo = ConfigValues.ClosestMatch("prox", root.Fields.Select(f => f.Key));
            Error("prox", "missing prox { … } block" + (typo is null ? "" : $" (found '{typo}': a typo?)"));
            return null;
        }
        if (AsMap(node, "prox") is not { } prox)
            return null;

        CheckKeys(prox, "prox", ProxKeys);
        var listen = ListenAddresses(prox, "prox", "listen");
        var admin = Admin(prox);
        var trustedProxies = TrustedProxies(prox);
        var limits = Limits(prox);
        var routes = Routes(prox);
        var webhooks = Webhooks(prox);
        var persistence = Persistence(prox);
        var tokens = AdminTokens(prox);
        var shutdown = Shutdown(prox);
        var cache = ProxCache(prox);
        var history = ConfigHistory(prox);
        var cluster = Cluster(prox);

        // the config history and the webhook outbox are shared by all nodes: one database every node reaches
        if (cluster.Enabled && !persistence.IsPostgreSql)
            Error("prox.persistence.provider",
                "cluster mode (prox.cluster.enabled = true) needs provider = postgresql: every node shares the config history " +
                "and the webhook outbox, and a SQLite file belongs to one machine");

        var proxyListen = listen?.Select(l => l.Address).ToList() ?? [.. ProxConfig.DefaultListen];
        foreach (var (address, path) in admin ?? [])
        {
            if (address.Port != 0 && proxyListen.Contains(address))
                Error(path, $"{address} is also a proxy listen address; the admin plane needs its own listener");
            // security by default: an admin plane without tokens must not leave the machine
            if (!IsLoopback(address.Host) && tokens is null or { Length: 0 })
                Error(path, $"{address} is not a loopback address; bind the admin listener beyond 127.0.0.1, [::1] or localhost only with prox.admin.tokens set (create one with 'prox token')");
        }

        return new ProxConfig(
            listen is null ? ProxConfig.DefaultListen : [.. listen.Select(l => l.Address)],
            (admin is null ? AdminConfig.Default : new AdminConfig([.. admin.Select(a => a.Address)]))
                with { Chaos = AdminChaos(prox), Tokens = tokens ?? [] },
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
        };
    }

    /// <summary><c>prox.admin.tokens</c>: null when absent or not a list.</summary>
    private ImmutableArray<AdminToken>? AdminTokens(ConfigNode.Map prox)
    {
        const string path = "prox.admin.tokens";
        if (prox.Get("admin") is not ConfigNode.Map admin || admin.Get("tokens") is not { } node
            || AsList(node, path, "a list of { name, sha256, role } objects") is not { } list)
            return null;
        var result = ImmutableArray.CreateBuilder<AdminToken>();
        var names = new Dictionary<string, string>(StringComparer.Ordinal);
        var hashes = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < list.Items.Length; i++)
        {
            var itemPath = Index(path, i);
            if (AsMap(list.Items[i], itemPath) is not { } token)
                continue;
            CheckKeys(token, itemPath, AdminTokenKeys);
            var name = AdminTokenName(token, itemPath);
            var hash = AdminTokenHash(token, itemPath);
            var role = AdminTokenRole(token, itemPath);
            if (name is not null && !names.TryAdd(name, itemPath))
            {
                Error(Child(itemPath, "name"), $"duplicate token name '{name}' (also {names[name]})");
                name = null;
            }
            if (hash is not null && !hashes.TryAdd(Convert.ToHexString(hash), itemPath))
            {
                Error(Child(itemPath, "sha256"), $"the same token hash as {hashes[Convert.ToHexString(hash)]}");
                hash = null;
            }
            if (name is not null && hash is not null && role is { } r)
                result.Add(new AdminToken(name, [.. hash], r));
        }
        return result.ToImmutable();
    }

    private string? AdminTokenName(ConfigNode.Map token, string parent)
    {
        var path = Child(parent, "name");
        if (token.Get("name") is not { } node)
        {
            Error(path, "required (who holds the token; it names them in the audit log)");
            return null;
        }
        if (Text(node, path, "a name") is not { } name)
            return null;
        if (name.Length is 0 or > 64 || !PlainKey().IsMatch(name))
        {
            Error(path, $"'{Clip(name)}' is not a token name (1-64 letters, digits, '-' or '_')");
            return null;
        }
        return name;
    }

    private byte[]? AdminTokenHash(ConfigNode.Map token, string parent)
    {
        var path = Child(parent, "sha256");
        if (token.Get("sha256") is not { } node)
        {
            Error(path, "required: the token's SHA-256 as 64 hex characters (create a token with 'prox token')");
            return null;
        }
        if (Text(node, path, "64 hex characters") is not { } text)
            return null;
        if (text.Length != 64 || !text.All(char.IsAsciiHexDigit))
        {
            // never echo the value: a plain-text token pasted here by mistake must not reach the logs
            Error(path, $"must be a SHA-256 as 64 hex characters, got {text.Length} characters{(text.All(char.IsAsciiHexDigit) ? "" : " that are not all hex digits")} (the plain-text token never goes in the config; 'prox token' prints both)");
            return null;
        }
        return Convert.FromHexString(text);
    }

    private AdminRole? AdminTokenRole(ConfigNode.Map token, string parent)
    {
        var path = Child(parent, "role");
        if (token.Get("role") is not { } node)
            return AdminRole.Read;
        switch (Text(node, path, "read or write"))
        {
            case null:
                return null;
            case "read":
                return AdminRole.Read;
            case "write":
                return AdminRole.Write;
            case var other:
                Error(path, $"unknown role '{Clip(other)}' (allowed: read, write)");
                return null;
        }
    }

    private ShutdownConfig Shutdown(ConfigNode.Map prox)
    {
        if (prox.Get("shutdown") is not { } node || AsMap(node, "prox.shutdown") is not { } shutdown)
            return ShutdownConfig.Default;
        CheckKeys(shutdown, "prox.shutdown", ShutdownKeys);
        return OptionalDuration(shutdown, "prox.shutdown", "drain-timeout", allowZero: true) is { } drain
            ? new ShutdownConfig(drain)
            : ShutdownConfig.Default;
    }

    private static bool IsLoopback(string host) =>
        host.Equals("localhost", StringComparison.OrdinalIgnoreCase)
        || (System.Net.IPAddress.TryParse(host, out var ip) && System.Net.IPAddress.IsLoopback(ip));

    private bool AdminChaos(ConfigNode.Map prox) =>
        prox.Get("admin") is ConfigNode.Map admin && Bool(admin, "prox.admin", "chaos", false);

    private List<(ListenAddress Address, string Path)>? Admin(ConfigNode.Map prox)
    {
        if (prox.Get("admin") is not { } node || AsMap(node, "prox.admin") is not { } admin)
            return null;
        CheckKeys(admin, "prox.admin", AdminKeys);
        return ListenAddresses(admin, "prox.admin", "listen");
    }

    /// <summary>Null when the key is absent (the caller applies its default).</summary>
    private List<(ListenAddress Address, string Path)>? ListenAddresses(ConfigNode.Map map, string parent, string key)
    {
        if (Strings(map, parent, key, "a host:port string") is not { } items)
            return null;
        if (map.Get(key) is ConfigNode.List { Items.IsEmpty: true })
        {
            Error(Child(parent, key), "must list at least one address");
            return null;
        }
        var result = new List<(ListenAddress Address, string Path)>();
        foreach (var (text, path) in items)
        {
            if (!ConfigValues.TryParseListenAddress(text, out var address, out var error))
                Error(path, error);
            else if (result.Any(r => r.Address == address))
                Error(path, $"duplicate address {address}");
            else
                result.Add((address, path));
        }
        return result;
    }

    private ImmutableArray<IPNetwork> TrustedProxies(ConfigNode.Map prox)
    {
        var result = ImmutableArray.CreateBuilder<IPNetwork>();
        foreach (var (text, path) in Strings(prox, "prox", "trusted-proxies", "a CIDR string") ?? [])
        {
            if (ConfigValues.TryParseNetwork(text, out var network, out var error))
                result.Add(network);
            else
                Error(path, error);
        }
        return result.ToImmutable();
    }

    private LimitsConfig Limits(ConfigNode.Map prox)
    {
        if (prox.Get("limits") is not { } node || AsMap(node, "prox.limits") is not { } limits)
            return LimitsConfig.Default;
        CheckKeys(limits, "prox.limits", LimitsKeys);

        const string path = "prox.limits.max-request-body";
        if (limits.Get("max-request-body") is not { } sizeNode || Text(sizeNode, path, "a size such as 10MB") is not { } text)
            return LimitsConfig.Default;
        if (ConfigValues.TryParseSize(text, out var bytes, out var error))
            return new LimitsConfig(bytes);
        Error(path, error);
        return LimitsConfig.Default;
    }

    private ImmutableArray<RouteConfig> Routes(ConfigNode.Map prox)
    {
        const string path = "prox.routes";
        if (prox.Get("routes") is not { } node)
        {
            Error(path, "at least one route is required");
            return [];
        }
        if (AsMap(node, path) is not { } routes)
            return [];
        if (routes.Fields.IsEmpty)
            Error(path, "at least one route is required");

        var result = ImmutableArray.CreateBuilder<RouteConfig>();
        var checkedRoutes = new List<RouteConfig>();
        foreach (var (id, routeNode) in routes.Fields)
        {
            var routePath = Child(path, id);
            var errorsBefore = _errors.Count;
            if (Route(id, routeNode, routePath) is not { } route)
                continue;
            // a match that failed to bind fell back to defaults; comparing it would report a conflict nobody wrote
            var matchErrors = _errors.Skip(errorsBefore).Any(e => e.Path.StartsWith(Child(routePath, "match"), StringComparison.Ordinal));
            if (!matchErrors)
            {
                CheckDuplicateMatch(route, routePath, checkedRoutes);
                checkedRoutes.Add(route);
            }
            result.Add(route);
        }
        return result.ToImmutable();
    }

    /// <summary>Two routes conflict when they share a path prefix and a host pattern, or share a prefix and both match any host.</summary>
    private void CheckDuplicateMatch(RouteConfig route, string routePath, IEnumerable<RouteConfig> earlier)
    {
        foreach (var other in earlier)
        {
            if (other.Match.PathPrefix != route.Match.PathPrefix)
                continue;
            var where = $"path-prefix '{route.Match.PathPrefix}'";
            if (route.Match.Hosts.IsEmpty && other.Match.Hosts.IsEmpty)
            {
                Error(Child(routePath, "match"), $"duplicate match: route '{other.Id}' already matches {where} on any host");
                return;
            }
            var shared = route.Match.Hosts.Intersect(other.Match.Hosts).FirstOrDefault();
            if (shared is not null)
            {
                Error(Child(routePath, "match"), $"duplicate match: route '{other.Id}' already matches {where} for host '{shared}'");
                return;
            }
        }
    }

    private RouteConfig? Route(string id, ConfigNode node, string path)
    {
        if (AsMap(node, path) is not { } route)
            return null;
        CheckKeys(route, path, RouteKeys);
        if (!RouteId().IsMatch(id))
            Error(path, "route id must start with a letter or digit and contain only letters, digits, '.', '-' or '_' (at most 100)");

        // null = no active checks for the route; its backends then only get settings from their own health block
        var health = route.Get("health") is { } healthNode ? Health(healthNode, Child(path, "health"), HealthConfig.Default) : null;
        var breaker = route.Get("breaker") is { } breakerNode ? Breaker(breakerNode, Child(path, "breaker"), BreakerConfig.Default) : null;
        // both react to the same request failures: two rules fighting over one backend would be impossible to reason about
        if (breaker is not null && route.Get("passive") is not null)
            Error(Child(path, "passive"), "not used when the route has a breaker (the breaker replaces passive ejection); remove one of them");
        // the route's block is a default: it may leave the action to each backend's own block
        var recovery = route.Get("recovery") is { } recoveryNode ? Recovery(recoveryNode, Child(path, "recovery"), RecoveryConfig.Default) : null;

        return new RouteConfig(
            id,
            Match(route, path),
            Bool(route, path, "strip-prefix", false),
            Policy(route, path),
            Backends(route, path, health, breaker, recovery),
            Timeouts(route, path),
            Retries(route, path),
            Passive(route, path),
            Bool(route, path, "backend-header", false),
            Bool(route, path, "preserve-host", true))
        {
            Health = health,
            Breaker = breaker,
            Recovery = recovery,
            Cache = route.Get("cache") is { } cacheNode ? Cache(cacheNode, Child(path, "cache")) : null,
            Dedup = route.Get("dedup") is { } dedupNode ? Dedup(dedupNode, Child(path, "dedup")) : null,
        };
    }

    private DedupConfig? Dedup(ConfigNode node, string path)
    {
        if (AsMap(node, path) is not { } dedup)
            return null;
        CheckKeys(dedup, path, DedupKeys);
        var defaults = DedupConfig.Default;

        var methods = defaults.Methods;
        if (Strings(dedup, path, "methods", "a method name") is { } methodItems)
        {
            var list = new List<string>();
            foreach (var (text, itemPath) in methodItems)
            {
                var m = text.ToUpperInvariant();
                if (m == "POST")
                    Error(itemPath, "POST coalesces only with post = true (its body hash joins the key); leave it out of methods");
                else if (m is not ("GET" or "HEAD"))
                    Error(itemPath, $"'{Clip(text)}' cannot be coalesced (allowed: GET, HEAD)");
                else if (!list.Contains(m))
                    list.Add(m);
            }
            if (list.Count == 0 && methodItems.Count == 0)
                Error(Child(path, "methods"), "must list at least one method");
            methods = [.. list];
        }

        var key = defaults.Key;
        if (Strings(dedup, path, "key", "a key part") is { } keyItems)
        {
            key = DedupKeyParts.None;
            foreach (var (text, itemPath) in keyItems)
            {
                switch (text.ToLowerInvariant())
                {
                    case "method": key |= DedupKeyParts.Method; break;
                    case "host": key |= DedupKeyParts.Host; break;
                    case "path": key |= DedupKeyParts.Path; break;
                    case "query": key |= DedupKeyParts.Query; break;
                    default:
                        Error(itemPath, $"unknown key part '{Clip(text)}' (allowed: method, host, path, query)");
                        break;
                }
            }
            // without the path every request of the route would share one response
            if ((key & DedupKeyParts.Path) == 0 && keyItems.Count > 0)
                Error(Child(path, "key"), "must include path");
        }

        var headers = new List<string>();
        foreach (var (text, itemPath) in Strings(dedup, path, "headers", "a header name") ?? [])
        {
            if (text.Length == 0 || !text.All(IsTokenChar))
                Error(itemPath, $"'{Clip(text)}' is not a header name");
            else if (!headers.Contains(text, StringComparer.OrdinalIgnoreCase))
                headers.Add(text);
        }

        var maxBody = defaults.MaxBody;
        var maxBodyPath = Child(path, "max-body");
        if (dedup.Get("max-body") is { } sizeNode && Text(sizeNode, maxBodyPath, "a size such as 1MB") is { } sizeText)
        {
            if (!ConfigValues.TryParseSize(sizeText, out var bytes, out var error))
                Error(maxBodyPath, error);
            else if (bytes is null or <= 0 or > MaxDedupBody)
                Error(maxBodyPath, $"must be from 1B to {MaxDedupBody / (1 << 20)}MiB (responses are buffered in memory)");
            else
                maxBody = bytes.Value;
        }

        return new DedupConfig(
            Bool(dedup, path, "enabled", true),
            methods,
            key,
            [.. headers],
            maxBody,
            OptionalDuration(dedup, path, "window") ?? defaults.Window)
        {
            Post = Bool(dedup, path, "post", false),
        };
    }

    private RouteMatch Match(ConfigNode.Map route, string routePath)
    {
        var path = Child(routePath, "match");
        if (route.Get("match") is not { } node || AsMap(node, path) is not { } match)
            return new RouteMatch("/", []);
        CheckKeys(match, path, MatchKeys);

        var prefix = "/";
        var prefixPath = Child(path, "path-prefix");
        if (match.Get("path-prefix") is { } prefixNode && Text(prefixNode, prefixPath, "a path such as /api") is { } text)
        {
            if (!text.StartsWith('/'))
                Error(prefixPath, $"must start with '/', got '{text}'");
            else if (text.Any(c => char.IsWhiteSpace(c) || char.IsControl(c) || c is '?' or '#'))
                Error(prefixPath, "must be a plain path without spaces, '?' or '#'");
            else
                prefix = NormalizePrefix(text);
        }

        var hosts = new List<string>();
        foreach (var (hostText, hostPath) in Strings(match, path, "hosts", "a host name") ?? [])
        {
            if (!ConfigValues.TryParseHostPattern(hostText, out var host, out var error))
                Error(hostPath, error);
            else if (!hosts.Contains(host))
                hosts.Add(host);
        }
        return new RouteMatch(prefix, [.. hosts]);
    }

    // Prefixes match whole segments, so "/api/" and "/api" mean the same thing.
    private static string NormalizePrefix(string prefix)
    {
        var trimmed = prefix.TrimEnd('/');
        return trimmed.Length == 0 ? "/" : trimmed;
    }

    private LoadBalancingPolicy Policy(ConfigNode.Map route, string routePath)
    {
        var path = Child(routePath, "load-balancing");
        if (route.Get("load-balancing") is not { } node || Text(node, path, "a policy name") is not { } text)
            return LoadBalancingPolicy.RoundRobin;
        foreach (var (name, policy) in Policies)
        {
            if (string.Equals(name, text, StringComparison.OrdinalIgnoreCase))
                return policy;
        }
        Error(path, $"unknown load-balancing policy '{text}' (allowed: {string.Join(", ", Policies.Select(p => p.Name))})");
        return LoadBalancingPolicy.RoundRobin;
    }

    private ImmutableArray<BackendConfig> Backends(ConfigNode.Map route, string routePath, HealthConfig? routeHealth, BreakerConfig? routeBreaker, RecoveryConfig? routeRecovery)
    {
        var path = Child(routePath, "backends");
        if (route.Get("backends") is not { } node)
        {
            Error(path, "missing: a route needs at least one backend");
            return [];
        }
        if (AsList(node, path, "a list of backends") is not { } list)
            return [];
        if (list.Items.IsEmpty)
        {
            Error(path, "must list at least one backend");
            return [];
        }

        var result = ImmutableArray.CreateBuilder<BackendConfig>();
        var idPaths = new Dictionary<string, string>();
        for (var i = 0; i < list.Items.Length; i++)
        {
            var itemPath = Index(path, i);
            if (AsMap(list.Items[i], itemPath, "an object such as { url = \"http://127.0.0.1:5001\" }") is not { } backend)
                continue;
            if (Backend(backend, itemPath, routeHealth, routeBreaker, routeRecovery, Child(routePath, "recovery"), out var idPath) is not { } config)
                continue;
            if (idPaths.TryGetValue(config.Id, out var firstPath))
            {
                Error(idPath, $"duplicate backend id '{config.Id}' (also used by {firstPath}); give each backend a distinct id");
                continue;
            }
            idPaths[config.Id] = itemPath;
            result.Add(config);
        }
        return result.ToImmutable();
    }

    /// <param name="idPath">Where a duplicate id is reported: the <c>id</c> key, or the <c>url</c> it was derived from.</param>
    /// <param name="routeHealth">The route's health settings, which the backend's own <c>health</c> block overrides key by key.</param>
    /// <param name="routeRecovery">The route's recovery block (null = none), which the backend's own overrides key by key.</param>
    /// <param name="routeRecoveryPath">Where problems of an inherited recovery block are reported.</param>
    /// <param name="routeBreaker">The route's breaker settings, which the backend's own <c>breaker</c> block overrides key by key.</param>
    private BackendConfig? Backend(ConfigNode.Map backend, string path, HealthConfig? routeHealth, BreakerConfig? routeBreaker,
        RecoveryConfig? routeRecovery, string routeRecoveryPath, out string idPath)
    {
        CheckKeys(backend, path, BackendKeys);
        var urlPath = Child(path, "url");
        idPath = urlPath;

        Uri? url = null;
        if (backend.Get("url") is not { } urlNode)
            Error(urlPath, "missing: each backend needs a url such as \"http://127.0.0.1:5001\"");
        else if (Text(urlNode, urlPath, "a URL string") is { } urlText)
        {
            if (ConfigValues.TryParseBackendUrl(urlText, out var parsed, out var error))
                url = parsed;
            else
                Error(urlPath, error);
        }

        var weight = Int(backend, path, "weight", BackendConfig.DefaultWeight, 1, BackendConfig.MaxWeight);
        var timeout = OptionalDuration(backend, path, "timeout");
        var drain = Bool(backend, path, "drain", false);
        // set even when the backend has no block of its own, so consumers read only BackendConfig.Health
        var health = backend.Get("health") is { } healthNode
            ? Health(healthNode, Child(path, "health"), routeHealth ?? HealthConfig.Default)
            : routeHealth;
        var breaker = backend.Get("breaker") is { } breakerNode
            ? Breaker(breakerNode, Child(path, "breaker"), routeBreaker ?? BreakerConfig.Default)
            : routeBreaker;
        var recovery = BackendRecovery(backend, path, health, routeRecovery, routeRecoveryPath);

        string? id = null;
        if (backend.Get("id") is { } idNode)
        {
            idPath = Child(path, "id");
            if (Text(idNode, idPath, "a string") is { } idText)
            {
                if (idText.Length is 0 or > 200 || idText.Any(c => char.IsWhiteSpace(c) || char.IsControl(c)))
                    Error(idPath, "must be 1-200 characters without spaces");
                else
                    id = idText;
            }
        }

        if (url is null)
            return null;
        return new BackendConfig(id ?? $"{url.Host}:{url.Port}", url, weight, timeout) { Health = health, Breaker = breaker, Recovery = recovery, Drain = drain };
    }

    private TimeoutsConfig Timeouts(ConfigNode.Map route, string routePath)
    {
        var path = Child(routePath, "timeouts");
        var defaults = TimeoutsConfig.Default;
        if (route.Get("timeouts") is not { } node || AsMap(node, path) is not { } timeouts)
            return defaults;
        CheckKeys(timeouts, path, TimeoutKeys);
        return new TimeoutsConfig(
            OptionalDuration(timeouts, path, "connect") ?? defaults.Connect,
            OptionalDuration(timeouts, path, "request") ?? defaults.Request);
    }

    private RetryConfig Retries(ConfigNode.Map route, string routePath)
    {
        var path = Child(routePath, "retries");
        var defaults = RetryConfig.Default;
        if (route.Get("retries") is not { } node || AsMap(node, path) is not { } retries)
            return defaults;
        CheckKeys(retries, path, RetryKeys);

        var attempts = Int(retries, path, "attempts", defaults.Attempts, 0, MaxRetryAttempts);
        var backoff = OptionalDuration(retries, path, "backoff", allowZero: true) ?? defaults.Backoff;
        var maxBackoff = OptionalDuration(retries, path, "max-backoff", allowZero: true) ?? defaults.MaxBackoff;
        if (maxBackoff < backoff)
            Error(Child(path, retries.Get("max-backoff") is null ? "backoff" : "max-backoff"),
                $"max-backoff ({maxBackoff}) must not be less than backoff ({backoff})");

        var on = defaults.On;
        var onStatuses = defaults.OnStatuses;
        if (Strings(retries, path, "on", "a retry condition") is { } items)
        {
            on = RetryConditions.None;
            var statuses = new List<int>();
            foreach (var (text, itemPath) in items)
            {
                switch (text.ToLowerInvariant())
                {
                    case "connect-failure":
                        on |= RetryConditions.ConnectFailure;
                        break;
                    case "timeout":
                        on |= RetryConditions.Timeout;
                        break;
                    default:
                        if (ConfigValues.TryParseInteger(text, out var status) && status is >= 500 and <= 599)
                        {
                            if (!statuses.Contains((int)status))
                                statuses.Add((int)status);
                        }
                        else
                        {
                            Error(itemPath, $"unknown retry condition '{text}' (allowed: connect-failure, timeout, or an HTTP status 500-599)");
                        }
                        break;
                }
            }
            onStatuses = [.. statuses];
        }

        return new RetryConfig(attempts, backoff, maxBackoff, on, onStatuses, Bool(retries, path, "non-idempotent", defaults.NonIdempotent));
    }

    private PassiveConfig Passive(ConfigNode.Map route, string routePath)
    {
        var path = Child(routePath, "passive");
        var defaults = PassiveConfig.Default;
        if (route.Get("passive") is not { } node || AsMap(node, path) is not { } passive)
            return defaults;
        CheckKeys(passive, path, PassiveKeys);

        var failures = Int(passive, path, "failures-to-eject", defaults.FailuresToEject, 1, int.MaxValue);
        var ejectFor = OptionalDuration(passive, path, "eject-for") ?? defaults.EjectFor;
        var maxEjectFor = OptionalDuration(passive, path, "max-eject-for") ?? defaults.MaxEjectFor;
        if (maxEjectFor < ejectFor)
            Error(Child(path, passive.Get("max-eject-for") is null ? "eject-for" : "max-eject-for"),
                $"max-eject-for ({maxEjectFor}) must not be less than eject-for ({ejectFor})");
        return new PassiveConfig(failures, ejectFor, maxEjectFor);
    }

    /// <summary>
    /// Applies the keys of one <c>health</c> block over <paramref name="baseline"/> (the defaults for a route,
    /// the route's settings for a backend). Cross-key rules are checked on the merged result, but only when
    /// this block sets one of the keys involved, so a route's mistake is not reported again for each backend.
    /// </summary>
    private HealthConfig Health(ConfigNode node, string path, HealthConfig baseline)
    {
        if (AsMap(node, path) is not { } health)
            return baseline;
        CheckKeys(health, path, HealthKeys);

        var probePath = baseline.Path;
        var probePathPath = Child(path, "path");
        if (health.Get("path") is { } pathNode && Text(pathNode, probePathPath, "a path such as /health") is { } text)
        {
            if (!text.StartsWith('/'))
                Error(probePathPath, $"must start with '/', got '{Clip(text)}'");
            else if (text.Any(c => char.IsWhiteSpace(c) || char.IsControl(c) || c == '#'))
                Error(probePathPath, "must be a plain path without spaces or '#'");
            else
                probePath = text;
        }

        var (interval, intervalOk) = HealthDuration(health, path, "interval", baseline.Interval);
        var (timeout, timeoutOk) = HealthDuration(health, path, "timeout", baseline.Timeout);
        if (intervalOk && timeoutOk && timeout >= interval && (health.Get("timeout") is not null || health.Get("interval") is not null))
            Error(Child(path, health.Get("timeout") is null ? "interval" : "timeout"),
                $"timeout ({timeout}) must be less than interval ({interval})");

        var (unhealthyInterval, unhealthyOk) = HealthDuration(health, path, "unhealthy-interval", baseline.UnhealthyInterval);
        var (maxUnhealthyInterval, maxUnhealthyOk) = HealthDuration(health, path, "max-unhealthy-interval", baseline.MaxUnhealthyInterval);
        if (unhealthyOk && maxUnhealthyOk && maxUnhealthyInterval < unhealthyInterval
            && (health.Get("unhealthy-interval") is not null || health.Get("max-unhealthy-interval") is not null))
            Error(Child(path, health.Get("max-unhealthy-interval") is null ? "unhealthy-interval" : "max-unhealthy-interval"),
                $"max-unhealthy-interval ({maxUnhealthyInterval}) must not be less than unhealthy-interval ({unhealthyInterval})");

        return baseline with
        {
            Path = probePath,
            Interval = interval,
            Timeout = timeout,
            Jitter = Jitter(health, path, baseline.Jitter),
            Expect = Expect(health, path, baseline.Expect),
            HealthyAfter = Int(health, path, "healthy-after", baseline.HealthyAfter, 1, MaxHealthThreshold),
            UnhealthyAfter = Int(health, path, "unhealthy-after", baseline.UnhealthyAfter, 1, MaxHealthThreshold),
            UnhealthyInterval = unhealthyInterval,
            MaxUnhealthyInterval = maxUnhealthyInterval,
            History = Int(health, path, "history", baseline.History, 1, MaxHealthHistory),
        };
    }

    /// <summary>The value, or the fallback when absent or invalid; <c>Ok</c> is false when an error was recorded.</summary>
    private (TimeSpan Value, bool Ok) HealthDuration(ConfigNode.Map map, string parent, string key, TimeSpan fallback)
    {
        if (map.Get(key) is null)
            return (fallback, true);
        return OptionalDuration(map, parent, key) is { } value ? (value, true) : (fallback, false);
    }

    /// <summary><c>10%</c> or the fraction <c>0.1</c>; 0 to 50%.</summary>
    private double Jitter(ConfigNode.Map health, string parent, double fallback) =>
        Fraction(health, parent, "jitter", fallback, 0m, MaxJitter,
            "a percentage from 0% to 50% or a fraction from 0 to 0.5 (e.g. 10% or 0.1)");

    /// <summary>A percentage (<c>10%</c>) or a fraction (<c>0.1</c>) within [<paramref name="min"/>, <paramref name="max"/>].</summary>
    private double Fraction(ConfigNode.Map map, string parent, string key, double fallback, decimal min, decimal max, string expected)
    {
        var path = Child(parent, key);
        if (map.Get(key) is not { } node || Text(node, path, "a percentage such as 10%") is not { } text)
            return fallback;
        var percent = text.EndsWith('%');
        var number = percent ? text[..^1].TrimEnd() : text;
        if (decimal.TryParse(number, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var value))
        {
            var fraction = percent ? value / 100 : value;
            if (fraction >= min && fraction <= max)
                return (double)fraction;
        }
        Error(path, $"must be {expected}, got '{Clip(text)}'");
        return fallback;
    }

    private HealthExpectation Expect(ConfigNode.Map health, string parent, HealthExpectation fallback)
    {
        var path = Child(parent, "expect");
        if (health.Get("expect") is not { } node || AsMap(node, path) is not { } expect)
            return fallback;
        CheckKeys(expect, path, ExpectKeys);

        var statuses = fallback.Statuses;
        if (Strings(expect, path, "status", "a status such as \"200\", \"200-299\" or \"2xx\"") is { } items)
        {
            if (expect.Get("status") is ConfigNode.List { Items.IsEmpty: true })
                Error(Child(path, "status"), "must list at least one status, e.g. [\"200-299\"]");
            var ranges = new List<StatusRange>();
            foreach (var (text, itemPath) in items)
            {
                if (!StatusRange.TryParse(text, out var range))
                    Error(itemPath, $"'{Clip(text)}' is not a status (use a code such as \"200\", a range such as \"200-299\", or \"2xx\"; codes 100-599)");
                else if (!ranges.Contains(range))
                    ranges.Add(range);
            }
            if (ranges.Count > 0)
                statuses = [.. ranges];
        }

        var bodyContains = fallback.BodyContains;
        var bodyPath = Child(path, "body-contains");
        // trimmed like every other value; "" turns an inherited body check off
        if (expect.Get("body-contains") is { } bodyNode && Text(bodyNode, bodyPath, "a string") is { } body)
            bodyContains = body.Length == 0 ? null : body;

        return new HealthExpectation(statuses, bodyContains);
    }

    /// <summary>
    /// The backend's effective recovery block: its own keys over the route's. The merged result must have exactly
    /// one action and the backend must have active health checks (without them nothing notices it coming back:
    /// a passive-only backend returns when its ejection time ends, whether or not the action helped). Problems of
    /// an inherited block are reported once, at the route's block.
    /// </summary>
    private RecoveryConfig? BackendRecovery(ConfigNode.Map backend, string path, HealthConfig? health,
        RecoveryConfig? routeRecovery, string routeRecoveryPath)
    {
        var own = backend.Get("recovery");
        if (own is null && routeRecovery is null)
            return null;
        var recoveryPath = Child(path, "recovery");
        var recovery = own is not null
            ? Recovery(own, recoveryPath, routeRecovery ?? RecoveryConfig.Default)
            : routeRecovery!;
        if (own is not null && own is not ConfigNode.Map)
            return null; // AsMap reported it

        // an action that failed to bind was reported where it is written; "no action" would only repeat that
        var reported = _errors.Any(e => e.Path.StartsWith(routeRecoveryPath, StringComparison.Ordinal)
            || e.Path.StartsWith(recoveryPath, StringComparison.Ordinal));
        if (recovery.Http is null && recovery.Command.IsDefaultOrEmpty && !reported)
            ErrorOnce(own is null ? routeRecoveryPath : recoveryPath,
                "needs an action: exactly one of http { url = … } or command = [\"/path/to/program\", …]");
        if (health is null)
            ErrorOnce(own is null ? routeRecoveryPath : recoveryPath,
                "needs active health checks (a health block on the route or the backend): they are what notices the backend coming back");
        return recovery;
    }

    /// <summary>
    /// Applies one <c>recovery</c> block over <paramref name="baseline"/> (the defaults for a route, the route's block for a
    /// backend). <c>http</c> and <c>command</c> are two forms of one setting, the action: a block names at most one, and a
    /// backend's replaces the route's (an <c>http</c> block over an inherited <c>http</c> merges key by key).
    /// </summary>
    private RecoveryConfig Recovery(ConfigNode node, string path, RecoveryConfig baseline)
    {
        if (AsMap(node, path) is not { } recovery)
            return baseline;
        CheckKeys(recovery, path, RecoveryKeys);

        var (after, afterOk) = HealthDuration(recovery, path, "after", baseline.After);
        var backoff = baseline.Backoff;
        var backoffOk = true;
        if (recovery.Get("backoff") is not null)
        {
            backoff = OptionalDuration(recovery, path, "backoff");
            backoffOk = backoff is not null;
            backoff ??= baseline.Backoff;
        }
        var (maxBackoff, maxOk) = HealthDuration(recovery, path, "max-backoff", baseline.MaxBackoff);
        var (timeout, _) = HealthDuration(recovery, path, "timeout", baseline.Timeout);
        var effectiveBackoff = backoff ?? after;
        if (afterOk && backoffOk && maxOk && maxBackoff < effectiveBackoff
            && (recovery.Get("max-backoff") is not null || recovery.Get("backoff") is not null || recovery.Get("after") is not null))
            Error(Child(path, recovery.Get("max-backoff") is not null ? "max-backoff" : recovery.Get("backoff") is not null ? "backoff" : "after"),
                $"max-backoff ({maxBackoff}) must not be less than backoff ({effectiveBackoff}{(backoff is null ? ", the same as after" : "")})");

        var http = baseline.Http;
        var command = baseline.Command;
        var httpNode = recovery.Get("http");
        var commandNode = recovery.Get("command");
        if (httpNode is not null && commandNode is not null)
        {
            Error(path, "set either http { … } or command = [ … ], not both");
        }
        else if (httpNode is not null)
        {
            http = RecoveryHttp(httpNode, Child(path, "http"), baseline.Http);
            command = [];
        }
        else if (commandNode is not null)
        {
            command = RecoveryCommand(commandNode, Child(path, "command"));
            http = null;
        }

        return baseline with
        {
            After = after,
            Backoff = backoff,
            MaxBackoff = maxBackoff,
            Timeout = timeout,
            Http = http,
            Command = command,
        };
    }

    private RecoveryHttp? RecoveryHttp(ConfigNode node, string path, RecoveryHttp? baseline)
    {
        if (AsMap(node, path) is not { } http)
            return baseline;
        CheckKeys(http, path, RecoveryHttpKeys);

        var url = baseline?.Url;
        var urlPath = Child(path, "url");
        if (http.Get("url") is { } urlNode)
        {
            if (Text(urlNode, urlPath, "a URL string") is { } text)
            {
                if (!Uri.TryCreate(text, UriKind.Absolute, out var parsed)
                    || (parsed.Scheme != Uri.UriSchemeHttp && parsed.Scheme != Uri.UriSchemeHttps)
                    || string.IsNullOrEmpty(parsed.Host)
                    || !text.StartsWith(parsed.Scheme + "://", StringComparison.OrdinalIgnoreCase))
                    Error(urlPath, $"'{Clip(text)}' is not an absolute http(s) URL");
                else if (parsed.UserInfo.Length > 0)
                    Error(urlPath, "must not contain credentials (user info): /status shows the URL; put secrets in headers");
                else
                    url = parsed;
            }
        }
        else if (url is null)
        {
            Error(urlPath, "missing: an http action needs a url such as \"http://127.0.0.1:9000/restart\"");
        }

        var method = baseline?.Method ?? "POST";
        var methodPath = Child(path, "method");
        if (http.Get("method") is { } methodNode && Text(methodNode, methodPath, "an HTTP method") is { } methodText)
        {
            var upper = methodText.ToUpperInvariant();
            if (Prox.Actors.Recovery.RecoveryHttp.Methods.Contains(upper))
                method = upper;
            else
                Error(methodPath, $"unknown method '{Clip(methodText)}' (allowed: {string.Join(", ", Prox.Actors.Recovery.RecoveryHttp.Methods)})");
        }

        var headers = baseline?.Headers ?? [];
        var headersPath = Child(path, "headers");
        if (http.Get("headers") is { } headersNode && AsMap(headersNode, headersPath) is { } headerMap)
        {
            var list = ImmutableArray.CreateBuilder<KeyValuePair<string, string>>();
            foreach (var (name, valueNode) in headerMap.Fields)
            {
                var headerPath = Child(headersPath, name);
                if (Text(valueNode, headerPath, "a string") is not { } value)
                    continue;
                if (name.Length == 0 || !name.All(IsTokenChar))
                    Error(headerPath, "not a valid header name");
                else if (value.Any(c => char.IsControl(c) && c != '\t'))
                    Error(headerPath, "header values must not contain control characters (CR, LF, …)");
                else
                    list.Add(new(name, value));
            }
            headers = list.ToImmutable();
        }

        var body = baseline?.Body;
        if (http.Get("body") is { } bodyNode)
            body = Text(bodyNode, Child(path, "body"), "a string") ?? body;

        return url is null ? null : new RecoveryHttp(url, method, headers, body);
    }

    private static bool IsTokenChar(char c) =>
        char.IsAsciiLetterOrDigit(c) || "!#$%&'*+-.^_`|~".Contains(c);

    private ImmutableArray<string> RecoveryCommand(ConfigNode node, string path)
    {
        if (node is ConfigNode.Text)
        {
            Error(path, "must be a list such as [\"/usr/bin/systemctl\", \"restart\", \"app\"]: there is no shell, so each argument is its own item");
            return [];
        }
        if (AsList(node, path, "a list of strings: the program's absolute path, then its arguments") is not { } list)
            return [];
        if (list.Items.IsEmpty)
        {
            Error(path, "must not be empty: name the program (an absolute path) and its arguments");
            return [];
        }
        var result = ImmutableArray.CreateBuilder<string>();
        var ok = true;
        for (var i = 0; i < list.Items.Length; i++)
        {
            var itemPath = Index(path, i);
            // not Text(): arguments are passed verbatim, so surrounding spaces are kept
            switch (list.Items[i])
            {
                case ConfigNode.Text text when text.Value.Contains('\0'):
                    Error(itemPath, "must not contain a NUL character");
                    ok = false;
                    break;
                case ConfigNode.Text text when i == 0 && !Path.IsPathFullyQualified(text.Value):
                    Error(itemPath, $"'{Clip(text.Value)}' is not an absolute path; name the program by its full path (there is no shell and no PATH lookup)");
                    ok = false;
                    break;
                case ConfigNode.Text text:
                    result.Add(text.Value);
                    break;
                case var other:
                    Error(itemPath, other is ConfigNode.Invalid invalid ? invalid.Message : $"expected a string, got {Describe(other)}");
                    ok = false;
                    break;
            }
        }
        return ok ? result.ToImmutable() : [];
    }

    /// <summary>
    /// Applies the keys of one <c>breaker</c> block over <paramref name="baseline"/> (the defaults for a route,
    /// the route's settings for a backend); like <see cref="Health"/>, a cross-key rule is only reported by the
    /// block that sets one of its keys.
    /// </summary>
    private BreakerConfig Breaker(ConfigNode node, string path, BreakerConfig baseline)
    {
        if (AsMap(node, path) is not { } breaker)
            return baseline;
        CheckKeys(breaker, path, BreakerKeys);

        var (window, _) = HealthDuration(breaker, path, "window", baseline.Window);
        var (openFor, openOk) = HealthDuration(breaker, path, "open-for", baseline.OpenFor);
        var (maxOpen, maxOk) = HealthDuration(breaker, path, "max-open", baseline.MaxOpen);
        if (openOk && maxOk && maxOpen < openFor && (breaker.Get("open-for") is not null || breaker.Get("max-open") is not null))
            Error(Child(path, breaker.Get("max-open") is null ? "open-for" : "max-open"),
                $"max-open ({maxOpen}) must not be less than open-for ({openFor})");
        if (window < TimeSpan.FromSeconds(1) && breaker.Get("window") is not null)
        {
            Error(Child(path, "window"), $"must be at least 1s, got {window}");
            window = baseline.Window;
        }

        return baseline with
        {
            ConsecutiveFailures = Int(breaker, path, "consecutive-failures", baseline.ConsecutiveFailures, 0, MaxBreakerCount),
            FailureRateThreshold = Fraction(breaker, path, "failure-rate", baseline.FailureRateThreshold, 0.01m, 1m,
                "a percentage from 1% to 100% or a fraction from 0.01 to 1 (e.g. 50% or 0.5)"),
            Window = window,
            MinimumRequests = Int(breaker, path, "minimum-requests", baseline.MinimumRequests, 1, MaxBreakerCount),
            OpenFor = openFor,
            MaxOpen = maxOpen,
            HalfOpenTrials = Int(breaker, path, "half-open-trials", baseline.HalfOpenTrials, 1, MaxHalfOpenTrials),
        };
    }

    // ---- typed readers: each reports its own errors and falls back so binding can continue ----

    private bool Bool(ConfigNode.Map map, string parent, string key, bool fallback)
    {
        var path = Child(parent, key);
        if (map.Get(key) is not { } node || Text(node, path, "true or false") is not { } text)
            return fallback;
        if (ConfigValues.TryParseBoolean(text, out var value))
            return value;
        Error(path, $"expected true or false, got '{Clip(text)}'");
        return fallback;
    }

    private int Int(ConfigNode.Map map, string parent, string key, int fallback, int min, int max)
    {
        var path = Child(parent, key);
        if (map.Get(key) is not { } node || Text(node, path, "an integer") is not { } text)
            return fallback;
        if (ConfigValues.TryParseInteger(text, out var value) && value >= min && value <= max)
            return (int)value;
        var range = max == int.MaxValue ? $"an integer >= {min}" : $"an integer from {min} to {max}";
        Error(path, $"must be {range}, got '{Clip(text)}'");
        return fallback;
    }

    /// <summary>Null when absent or invalid (the error is recorded). Durations must be positive unless <paramref name="allowZero"/>.</summary>
    private TimeSpan? OptionalDuration(ConfigNode.Map map, string parent, string key, bool allowZero = false)
    {
        var path = Child(parent, key);
        if (map.Get(key) is not { } node || Text(node, path, "a duration such as 2s") is not { } text)
            return null;
        if (!ConfigValues.TryParseDuration(text, out var value, out var error))
        {
            Error(path, error);
            return null;
        }
        if (!allowZero && value <= TimeSpan.Zero)
        {
            Error(path, "must be greater than 0");
            return null;
        }
        return value;
    }

    /// <summary>A string or a list of strings, with the path of each item; null when the key is absent.</summary>
    private List<(string Text, string Path)>? Strings(ConfigNode.Map map, string parent, string key, string expected)
    {
        var path = Child(parent, key);
        switch (map.Get(key))
        {
            case null:
                return null;
            case ConfigNode.Text text:
                return [(text.Value.Trim(), path)];
            case ConfigNode.List list:
                var items = new List<(string, string)>();
                for (var i = 0; i < list.Items.Length; i++)
                {
                    var itemPath = Index(path, i);
                    if (Text(list.Items[i], itemPath, expected) is { } value)
                        items.Add((value, itemPath));
                }
                return items;
            case ConfigNode.Invalid invalid:
                Error(path, invalid.Message);
                return null;
            case var other:
                Error(path, $"expected {expected} or a list of them, got {Describe(other)}");
                return null;
        }
    }

    private string? Text(ConfigNode node, string path, string expected)
    {
        switch (node)
        {
            case ConfigNode.Text text:
                return text.Value.Trim();
            case ConfigNode.Invalid invalid:
                Error(path, invalid.Message);
                return null;
            default:
                Error(path, $"expected {expected}, got {Describe(node)}");
                return null;
        }
    }

    private ConfigNode.Map? AsMap(ConfigNode node, string path, string expected = "an object { … }")
    {
        if (node is ConfigNode.Map map)
            return map;
        Error(path, node is ConfigNode.Invalid invalid ? invalid.Message : $"expected {expected}, got {Describe(node)}");
        return null;
    }

    private ConfigNode.List? AsList(ConfigNode node, string path, string expected)
    {
        if (node is ConfigNode.List list)
            return list;
        Error(path, node is ConfigNode.Invalid invalid ? invalid.Message : $"expected {expected}, got {Describe(node)}");
        return null;
    }

    private void CheckKeys(ConfigNode.Map map, string path, string[] known)
    {
        foreach (var (key, _) in map.Fields)
        {
            if (known.Contains(key))
                continue;
            var guess = ConfigValues.ClosestMatch(key, known);
            Error(Child(path, key), guess is null ? "unknown key" : $"unknown key (did you mean '{guess}'?)");
        }
    }

    private void ReportInvalid(ConfigNode node, string path)
    {
        switch (node)
        {
            case ConfigNode.Invalid invalid:
                Error(path, invalid.Message);
                break;
            case ConfigNode.Map map:
                foreach (var (key, value) in map.Fields)
                    ReportInvalid(value, Child(path, key));
                break;
            case ConfigNode.List list:
                for (var i = 0; i < list.Items.Length; i++)
                    ReportInvalid(list.Items[i], Index(path, i));
                break;
        }
    }

    private void Error(string path, string message) => _errors.Add(new ConfigError(path, message));

    /// <summary>For problems of a block several backends inherit: one error, not one per backend.</summary>
    private void ErrorOnce(string path, string message)
    {
        if (!_errors.Contains(new ConfigError(path, message)))
            Error(path, message);
    }

    private static string Describe(ConfigNode node) => node switch
    {
        ConfigNode.Text text => $"'{Clip(text.Value)}'",
        ConfigNode.List => "a list",
        ConfigNode.Map => "an object",
        ConfigNode.Null => "null",
        _ => "an invalid value",
    };

    private static string Clip(string text) => text.Length <= 60 ? text : text[..57] + "...";

    internal static string Child(string parent, string key)
    {
        var segment = PlainKey().IsMatch(key) ? key : "\"" + key.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"";
        return parent.Length == 0 ? segment : $"{parent}.{segment}";
    }

    private static string Index(string path, int index) => $"{path}[{index}]";
}
