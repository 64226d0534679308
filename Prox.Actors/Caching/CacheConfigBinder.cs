using System.Collections.Immutable;
using Prox.Actors.Hocon;

namespace Prox.Actors.Caching;

/// <summary>Binds <c>prox.cache</c> to <see cref="ProxCacheConfig"/> and a route's <c>cache</c> block to <see cref="CacheConfig"/>.</summary>
internal static class CacheConfigBinder
{
    private static readonly string[] ProxCacheKeys = ["max-memory", "bypass-header"];
    private static readonly string[] RouteCacheKeys =
        ["enabled", "ttl", "max-entry", "vary-by", "stale-while-revalidate", "stale-if-error"];

    /// <summary>The process-wide settings; <see cref="ProxCacheConfig.Default"/> when <c>prox.cache</c> is absent.</summary>
    public static ProxCacheConfig BindProcess(ConfigReader r, ConfigNode.Map prox)
    {
        const string path = "prox.cache";
        if (r.Section(prox, "cache", path, ProxCacheKeys) is not { } cache)
            return ProxCacheConfig.Default;
        var result = ProxCacheConfig.Default;
        if (Size(r, cache, path, "max-memory") is { } max)
            result = result with { MaxMemoryBytes = max };
        var headerPath = ConfigPath.Child(path, "bypass-header");
        if (cache.Get("bypass-header") is { } headerNode && r.Text(headerNode, headerPath, "a header name") is { } header)
        {
            if (header.Length == 0 || !header.All(ConfigReader.IsTokenChar))
                r.Error(headerPath, $"'{ConfigReader.Clip(header)}' is not a valid header name");
            else
                result = result with { BypassHeader = header };
        }
        return result;
    }

    /// <summary>A route's <c>cache</c> block; a block that is not an object binds as off (the error is recorded).</summary>
    public static CacheConfig BindRoute(ConfigReader r, ConfigNode node, string path)
    {
        if (r.Block(node, path, RouteCacheKeys) is not { } cache)
            return CacheConfig.Default with { Enabled = false };
        var d = CacheConfig.Default;

        var varyBy = ImmutableArray.CreateBuilder<string>();
        foreach (var (name, itemPath) in r.Strings(cache, path, "vary-by", "a header name") ?? [])
        {
            if (name.Length == 0 || !name.All(ConfigReader.IsTokenChar))
                r.Error(itemPath, $"'{ConfigReader.Clip(name)}' is not a valid header name");
            else if (!varyBy.Contains(name, StringComparer.OrdinalIgnoreCase))
                varyBy.Add(name);
        }

        return new CacheConfig(
            r.Bool(cache, path, "enabled", true),
            r.OptionalDuration(cache, path, "ttl") ?? d.Ttl,
            Size(r, cache, path, "max-entry") ?? d.MaxEntryBytes,
            varyBy.ToImmutable(),
            r.OptionalDuration(cache, path, "stale-while-revalidate", allowZero: true) ?? d.StaleWhileRevalidate,
            r.OptionalDuration(cache, path, "stale-if-error", allowZero: true) ?? d.StaleIfError);
    }

    /// <summary>A positive size such as <c>1MB</c>; null when absent or invalid (the error is recorded).</summary>
    private static long? Size(ConfigReader r, ConfigNode.Map map, string parent, string key)
    {
        var path = ConfigPath.Child(parent, key);
        if (map.Get(key) is not { } node || r.Text(node, path, "a size such as 1MB") is not { } text)
            return null;
        if (!ConfigValues.TryParseSize(text, out var bytes, out var error))
        {
            r.Error(path, error);
            return null;
        }
        if (bytes is null)
        {
            r.Error(path, "must be a size greater than 0 (the cache is bounded)");
            return null;
        }
        return bytes;
    }
}
