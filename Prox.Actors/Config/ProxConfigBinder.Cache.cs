using System.Collections.Immutable;

namespace Prox.Actors.Config;

/// <summary>Binding of <c>prox.cache</c> and each route's <c>cache</c> block.</summary>
internal sealed partial class ProxConfigBinder
{
    private static readonly string[] ProxCacheKeys = ["max-memory", "bypass-header"];
    private static readonly string[] RouteCacheKeys =
        ["enabled", "ttl", "max-entry", "vary-by", "stale-while-revalidate", "stale-if-error"];

    private ProxCacheConfig ProxCache(ConfigNode.Map prox)
    {
        const string path = "prox.cache";
        if (prox.Get("cache") is not { } node || AsMap(node, path) is not { } cache)
            return ProxCacheConfig.Default;
        CheckKeys(cache, path, ProxCacheKeys);
        var result = ProxCacheConfig.Default;
        if (Size(cache, path, "max-memory") is { } max)
            result = result with { MaxMemoryBytes = max };
        var headerPath = Child(path, "bypass-header");
        if (cache.Get("bypass-header") is { } headerNode && Text(headerNode, headerPath, "a header name") is { } header)
        {
            if (header.Length == 0 || !header.All(IsTokenChar))
                Error(headerPath, $"'{Clip(header)}' is not a valid header name");
            else
                result = result with { BypassHeader = header };
        }
        return result;
    }

    private CacheConfig Cache(ConfigNode node, string path)
    {
        if (AsMap(node, path) is not { } cache)
            return CacheConfig.Default with { Enabled = false };
        CheckKeys(cache, path, RouteCacheKeys);
        var d = CacheConfig.Default;

        var varyBy = ImmutableArray.CreateBuilder<string>();
        foreach (var (name, itemPath) in Strings(cache, path, "vary-by", "a header name") ?? [])
        {
            if (name.Length == 0 || !name.All(IsTokenChar))
                Error(itemPath, $"'{Clip(name)}' is not a valid header name");
            else if (!varyBy.Contains(name, StringComparer.OrdinalIgnoreCase))
                varyBy.Add(name);
        }

        return new CacheConfig(
            Bool(cache, path, "enabled", true),
            OptionalDuration(cache, path, "ttl") ?? d.Ttl,
            Size(cache, path, "max-entry") ?? d.MaxEntryBytes,
            varyBy.ToImmutable(),
            OptionalDuration(cache, path, "stale-while-revalidate", allowZero: true) ?? d.StaleWhileRevalidate,
            OptionalDuration(cache, path, "stale-if-error", allowZero: true) ?? d.StaleIfError);
    }

    /// <summary>A positive size such as <c>1MB</c>; null when absent or invalid (the error is recorded).</summary>
    private long? Size(ConfigNode.Map map, string parent, string key)
    {
        var path = Child(parent, key);
        if (map.Get(key) is not { } node || Text(node, path, "a size such as 1MB") is not { } text)
            return null;
        if (!ConfigValues.TryParseSize(text, out var bytes, out var error))
        {
            Error(path, error);
            return null;
        }
        if (bytes is null)
        {
            Error(path, "must be a size greater than 0 (the cache is bounded)");
            return null;
        }
        return bytes;
    }
}
