using System.Collections.Immutable;
using Prox.Actors.Breaker;
using Prox.Actors.Health;
using Prox.Actors.Hocon;
using Prox.Actors.Recovery;

namespace Prox.Actors.Config;

/// <summary>Binds a route's <c>backends</c> list; each backend's own <c>health</c>, <c>breaker</c> and <c>recovery</c>
/// blocks are merged over the route's by their capability binders.</summary>
internal static class BackendConfigBinder
{
    private static readonly string[] BackendKeys = ["url", "weight", "id", "timeout", "drain", "health", "breaker", "recovery"];

    /// <param name="routeHealth">The route's health settings, which the backend's own <c>health</c> block overrides key by key.</param>
    /// <param name="routeBreaker">The route's breaker settings, which the backend's own <c>breaker</c> block overrides key by key.</param>
    /// <param name="routeRecovery">The route's recovery block (null = none), which the backend's own overrides key by key.</param>
    public static ImmutableArray<BackendConfig> Bind(ConfigReader r, ConfigNode.Map route, string routePath,
        HealthConfig? routeHealth, BreakerConfig? routeBreaker, RecoveryConfig? routeRecovery)
    {
        var path = ConfigPath.Child(routePath, "backends");
        if (route.Get("backends") is not { } node)
        {
            r.Error(path, "missing: a route needs at least one backend");
            return [];
        }
        if (r.AsList(node, path, "a list of backends") is not { } list)
            return [];
        if (list.Items.IsEmpty)
        {
            r.Error(path, "must list at least one backend");
            return [];
        }

        var result = ImmutableArray.CreateBuilder<BackendConfig>();
        var idPaths = new Dictionary<string, string>();
        for (var i = 0; i < list.Items.Length; i++)
        {
            var itemPath = ConfigPath.Index(path, i);
            if (r.AsMap(list.Items[i], itemPath, "an object such as { url = \"http://127.0.0.1:5001\" }") is not { } backend)
                continue;
            if (Backend(r, backend, itemPath, routeHealth, routeBreaker, routeRecovery, ConfigPath.Child(routePath, "recovery"), out var idPath) is not { } config)
                continue;
            if (idPaths.TryGetValue(config.Id, out var firstPath))
            {
                r.Error(idPath, $"duplicate backend id '{config.Id}' (also used by {firstPath}); give each backend a distinct id");
                continue;
            }
            idPaths[config.Id] = itemPath;
            result.Add(config);
        }
        return result.ToImmutable();
    }

    /// <param name="idPath">Where a duplicate id is reported: the <c>id</c> key, or the <c>url</c> it was derived from.</param>
    /// <param name="routeRecoveryPath">Where problems of an inherited recovery block are reported.</param>
    private static BackendConfig? Backend(ConfigReader r, ConfigNode.Map backend, string path, HealthConfig? routeHealth, BreakerConfig? routeBreaker,
        RecoveryConfig? routeRecovery, string routeRecoveryPath, out string idPath)
    {
        r.CheckKeys(backend, path, BackendKeys);
        var urlPath = ConfigPath.Child(path, "url");
        idPath = urlPath;

        Uri? url = null;
        if (backend.Get("url") is not { } urlNode)
            r.Error(urlPath, "missing: each backend needs a url such as \"http://127.0.0.1:5001\"");
        else if (r.Text(urlNode, urlPath, "a URL string") is { } urlText)
        {
            if (AddressValues.TryParseBackendUrl(urlText, out var parsed, out var error))
                url = parsed;
            else
                r.Error(urlPath, error);
        }

        var weight = r.Int(backend, path, "weight", BackendConfig.DefaultWeight, 1, BackendConfig.MaxWeight);
        var timeout = r.OptionalDuration(backend, path, "timeout");
        var drain = r.Bool(backend, path, "drain", false);
        // set even when the backend has no block of its own, so consumers read only BackendConfig.Health
        var health = backend.Get("health") is { } healthNode
            ? HealthConfigBinder.Bind(r, healthNode, ConfigPath.Child(path, "health"), routeHealth ?? HealthConfig.Default)
            : routeHealth;
        var breaker = backend.Get("breaker") is { } breakerNode
            ? BreakerConfigBinder.Bind(r, breakerNode, ConfigPath.Child(path, "breaker"), routeBreaker ?? BreakerConfig.Default)
            : routeBreaker;
        var recovery = RecoveryConfigBinder.BindForBackend(r, backend, path, health is not null, routeRecovery, routeRecoveryPath);

        string? id = null;
        if (backend.Get("id") is { } idNode)
        {
            idPath = ConfigPath.Child(path, "id");
            if (r.Text(idNode, idPath, "a string") is { } idText)
            {
                if (idText.Length is 0 or > 200 || idText.Any(c => char.IsWhiteSpace(c) || char.IsControl(c)))
                    r.Error(idPath, "must be 1-200 characters without spaces");
                else
                    id = idText;
            }
        }

        if (url is null)
            return null;
        return new BackendConfig(id ?? $"{url.Host}:{url.Port}", url, weight, timeout) { Health = health, Breaker = breaker, Recovery = recovery, Drain = drain };
    }
}
