using System.Collections.Immutable;
using Prox.Actors.Breaker;
using Prox.Actors.Caching;
using Prox.Actors.Dedup;
using Prox.Actors.Health;
using Prox.Actors.Hocon;
using Prox.Actors.Recovery;
using Prox.Actors.WebSockets;

namespace Prox.Actors.Config;

/// <summary>
/// Binds <c>prox.routes</c>: each route's match, load balancing, timeouts, retries and passive ejection, and composes
/// the capability blocks a route may carry (<c>health</c>, <c>breaker</c>, <c>recovery</c>, <c>cache</c>, <c>dedup</c>)
/// from their own binders. Backends are bound by <see cref="BackendConfigBinder"/>.
/// </summary>
internal static class RouteConfigBinder
{
    private static readonly string[] RouteKeys =
        ["match", "strip-prefix", "load-balancing", "backends", "timeouts", "retries", "passive", "backend-header", "preserve-host", "allow-trace", "health", "breaker", "recovery", "dedup", "cache", "redirect-to-https", "hsts", "websocket"];
    private static readonly string[] MatchKeys = ["path-prefix", "hosts"];
    private static readonly string[] TimeoutKeys = ["connect", "request", "idle"];
    private static readonly string[] RetryKeys = ["attempts", "backoff", "max-backoff", "on", "non-idempotent"];
    private static readonly string[] PassiveKeys = ["failures-to-eject", "eject-for", "max-eject-for", "panic-threshold"];

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

    /// <summary>Every route of <c>prox.routes</c> that bound; at least one is required.</summary>
    public static ImmutableArray<RouteConfig> Bind(ConfigReader r, ConfigNode.Map prox)
    {
        const string path = "prox.routes";
        if (prox.Get("routes") is not { } node)
        {
            r.Error(path, "at least one route is required");
            return [];
        }
        if (r.AsMap(node, path) is not { } routes)
            return [];
        if (routes.Fields.IsEmpty)
            r.Error(path, "at least one route is required");

        var result = ImmutableArray.CreateBuilder<RouteConfig>();
        var checkedRoutes = new List<RouteConfig>();
        foreach (var (id, routeNode) in routes.Fields)
        {
            var routePath = ConfigPath.Child(path, id);
            var errorsBefore = r.ErrorCount;
            if (Route(r, id, routeNode, routePath) is not { } route)
                continue;
            // a match that failed to bind fell back to defaults; comparing it would report a conflict nobody wrote
            if (!r.AnyErrorUnder(ConfigPath.Child(routePath, "match"), errorsBefore))
            {
                CheckDuplicateMatch(r, route, routePath, checkedRoutes);
                checkedRoutes.Add(route);
            }
            result.Add(route);
        }
        return result.ToImmutable();
    }

    /// <summary>Two routes conflict when they share a path prefix and a host pattern, or share a prefix and both match any host.</summary>
    private static void CheckDuplicateMatch(ConfigReader r, RouteConfig route, string routePath, IEnumerable<RouteConfig> earlier)
    {
        foreach (var other in earlier)
        {
            if (other.Match.PathPrefix != route.Match.PathPrefix)
                continue;
            var where = $"path-prefix '{route.Match.PathPrefix}'";
            if (route.Match.Hosts.IsEmpty && other.Match.Hosts.IsEmpty)
            {
                r.Error(ConfigPath.Child(routePath, "match"), $"duplicate match: route '{other.Id}' already matches {where} on any host");
                return;
            }
            var shared = route.Match.Hosts.Intersect(other.Match.Hosts).FirstOrDefault();
            if (shared is not null)
            {
                r.Error(ConfigPath.Child(routePath, "match"), $"duplicate match: route '{other.Id}' already matches {where} for host '{shared}'");
                return;
            }
        }
    }

    private static RouteConfig? Route(ConfigReader r, string id, ConfigNode node, string path)
    {
        if (r.Block(node, path, RouteKeys) is not { } route)
            return null;
        if (!ConfigValues.IsName(id))
            r.Error(path, "route id must start with a letter or digit and contain only letters, digits, '.', '-' or '_' (at most 100)");

        // null = no active checks for the route; its backends then only get settings from their own health block
        var health = route.Get("health") is { } healthNode
            ? HealthConfigBinder.Bind(r, healthNode, ConfigPath.Child(path, "health"), HealthConfig.Default)
            : null;
        var breaker = route.Get("breaker") is { } breakerNode
            ? BreakerConfigBinder.Bind(r, breakerNode, ConfigPath.Child(path, "breaker"), BreakerConfig.Default)
            : null;
        // both react to the same request failures: two rules fighting over one backend would be impossible to reason about
        // the panic threshold is the route's, not an ejection rule: it guards breaker routes too
        if (breaker is not null && route.Get("passive") is { } p && (p is not ConfigNode.Map m || m.Fields.Any(f => f.Key != "panic-threshold")))
            r.Error(ConfigPath.Child(path, "passive"), "not used when the route has a breaker (the breaker replaces passive ejection); remove one of them");
        // the route's block is a default: it may leave the action to each backend's own block
        var recovery = route.Get("recovery") is { } recoveryNode
            ? RecoveryConfigBinder.Bind(r, recoveryNode, ConfigPath.Child(path, "recovery"), RecoveryConfig.Default)
            : null;

        return new RouteConfig(
            id,
            Match(r, route, path),
            r.Bool(route, path, "strip-prefix", false),
            Policy(r, route, path),
            BackendConfigBinder.Bind(r, route, path, health, breaker, recovery),
            Timeouts(r, route, path),
            Retries(r, route, path),
            Passive(r, route, path),
            r.Bool(route, path, "backend-header", false),
            r.Bool(route, path, "preserve-host", true))
        {
            Health = health,
            Breaker = breaker,
            Recovery = recovery,
            Cache = route.Get("cache") is { } cacheNode ? CacheConfigBinder.BindRoute(r, cacheNode, ConfigPath.Child(path, "cache")) : null,
            Dedup = route.Get("dedup") is { } dedupNode ? DedupConfigBinder.Bind(r, dedupNode, ConfigPath.Child(path, "dedup")) : null,
            AllowTrace = r.Bool(route, path, "allow-trace", false),
            RedirectToHttps = r.Bool(route, path, "redirect-to-https", false),
            Hsts = Hsts(r, route, path),
            WebSocket = route.Get("websocket") is { } wsNode
                ? WebSocketConfigBinder.Bind(r, wsNode, ConfigPath.Child(path, "websocket"))
                : WebSocketConfig.Default,
        };
    }

    /// <summary><c>hsts</c>: a <c>Strict-Transport-Security</c> value (RFC 6797 §6.1): <c>max-age</c> required; "" = none.</summary>
    private static string? Hsts(ConfigReader r, ConfigNode.Map route, string routePath)
    {
        var path = ConfigPath.Child(routePath, "hsts");
        if (route.Get("hsts") is not { } node || r.Text(node, path, "a Strict-Transport-Security value") is not { } text || text.Length == 0)
            return null;
        var directives = text.Split(';', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        var maxAge = directives.FirstOrDefault(d => d.StartsWith("max-age=", StringComparison.OrdinalIgnoreCase));
        if (maxAge is null || !long.TryParse(maxAge["max-age=".Length..].Trim('"'), System.Globalization.NumberStyles.None,
                System.Globalization.CultureInfo.InvariantCulture, out _)
            || directives.Any(d => d.Any(c => c < 0x20 || c > 0x7e)))
        {
            r.Error(path, $"must be a Strict-Transport-Security value with max-age in seconds, e.g. \"max-age=31536000; includeSubDomains\", got '{ConfigReader.Clip(text)}'");
            return null;
        }
        return string.Join("; ", directives);
    }

    private static RouteMatch Match(ConfigReader r, ConfigNode.Map route, string routePath)
    {
        var path = ConfigPath.Child(routePath, "match");
        if (r.Section(route, "match", path, MatchKeys) is not { } match)
            return new RouteMatch("/", []);

        var prefix = "/";
        var prefixPath = ConfigPath.Child(path, "path-prefix");
        if (match.Get("path-prefix") is { } prefixNode && r.Text(prefixNode, prefixPath, "a path such as /api") is { } text)
        {
            if (!text.StartsWith('/'))
                r.Error(prefixPath, $"must start with '/', got '{text}'");
            else if (text.Any(c => char.IsWhiteSpace(c) || char.IsControl(c) || c is '?' or '#'))
                r.Error(prefixPath, "must be a plain path without spaces, '?' or '#'");
            else
                prefix = NormalizePrefix(text);
        }

        var hosts = new List<string>();
        foreach (var (hostText, hostPath) in r.Strings(match, path, "hosts", "a host name") ?? [])
        {
            if (!ConfigValues.TryParseHostPattern(hostText, out var host, out var error))
                r.Error(hostPath, error);
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

    private static LoadBalancingPolicy Policy(ConfigReader r, ConfigNode.Map route, string routePath)
    {
        var path = ConfigPath.Child(routePath, "load-balancing");
        if (route.Get("load-balancing") is not { } node || r.Text(node, path, "a policy name") is not { } text)
            return LoadBalancingPolicy.RoundRobin;
        foreach (var (name, policy) in Policies)
        {
            if (string.Equals(name, text, StringComparison.OrdinalIgnoreCase))
                return policy;
        }
        r.Error(path, $"unknown load-balancing policy '{text}' (allowed: {string.Join(", ", Policies.Select(p => p.Name))})");
        return LoadBalancingPolicy.RoundRobin;
    }

    private static TimeoutsConfig Timeouts(ConfigReader r, ConfigNode.Map route, string routePath)
    {
        var path = ConfigPath.Child(routePath, "timeouts");
        var defaults = TimeoutsConfig.Default;
        if (r.Section(route, "timeouts", path, TimeoutKeys) is not { } timeouts)
            return defaults;
        var idle = r.OptionalDuration(timeouts, path, "idle") ?? defaults.Idle;
        if (idle > TimeoutsConfig.MaxTimer)
        {
            r.Error(ConfigPath.Child(path, "idle"), "must be at most 24d (the longest timer .NET can arm)");
            idle = defaults.Idle;
        }
        return new TimeoutsConfig(
            r.OptionalDuration(timeouts, path, "connect") ?? defaults.Connect,
            r.OptionalDuration(timeouts, path, "request") ?? defaults.Request) { Idle = idle };
    }

    private static RetryConfig Retries(ConfigReader r, ConfigNode.Map route, string routePath)
    {
        var path = ConfigPath.Child(routePath, "retries");
        var defaults = RetryConfig.Default;
        if (r.Section(route, "retries", path, RetryKeys) is not { } retries)
            return defaults;

        var attempts = r.Int(retries, path, "attempts", defaults.Attempts, 0, MaxRetryAttempts);
        var backoff = r.OptionalDuration(retries, path, "backoff", allowZero: true) ?? defaults.Backoff;
        var maxBackoff = r.OptionalDuration(retries, path, "max-backoff", allowZero: true) ?? defaults.MaxBackoff;
        if (maxBackoff < backoff)
            r.Error(ConfigPath.Child(path, retries.Get("max-backoff") is null ? "backoff" : "max-backoff"),
                $"max-backoff ({maxBackoff}) must not be less than backoff ({backoff})");

        var on = defaults.On;
        var onStatuses = defaults.OnStatuses;
        if (r.Strings(retries, path, "on", "a retry condition") is { } items)
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
                            r.Error(itemPath, $"unknown retry condition '{text}' (allowed: connect-failure, timeout, or an HTTP status 500-599)");
                        }
                        break;
                }
            }
            onStatuses = [.. statuses];
        }

        return new RetryConfig(attempts, backoff, maxBackoff, on, onStatuses, r.Bool(retries, path, "non-idempotent", defaults.NonIdempotent));
    }

    private static PassiveConfig Passive(ConfigReader r, ConfigNode.Map route, string routePath)
    {
        var path = ConfigPath.Child(routePath, "passive");
        var defaults = PassiveConfig.Default;
        if (r.Section(route, "passive", path, PassiveKeys) is not { } passive)
            return defaults;

        var failures = r.Int(passive, path, "failures-to-eject", defaults.FailuresToEject, 1, int.MaxValue);
        var ejectFor = r.OptionalDuration(passive, path, "eject-for") ?? defaults.EjectFor;
        var maxEjectFor = r.OptionalDuration(passive, path, "max-eject-for") ?? defaults.MaxEjectFor;
        if (maxEjectFor < ejectFor)
            r.Error(ConfigPath.Child(path, passive.Get("max-eject-for") is null ? "eject-for" : "max-eject-for"),
                $"max-eject-for ({maxEjectFor}) must not be less than eject-for ({ejectFor})");
        var panic = r.Fraction(passive, path, "panic-threshold", defaults.PanicThreshold, 0m, 1m, "a percentage from 0% (off) to 100%");
        return new PassiveConfig(failures, ejectFor, maxEjectFor) { PanicThreshold = panic };
    }
}
