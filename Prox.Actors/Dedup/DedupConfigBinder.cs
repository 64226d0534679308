using Prox.Actors.Hocon;

namespace Prox.Actors.Dedup;

/// <summary>Binds a route's <c>dedup</c> block to <see cref="DedupConfig"/>.</summary>
internal static class DedupConfigBinder
{
    private static readonly string[] DedupKeys = ["enabled", "methods", "key", "headers", "max-body", "window", "post"];
    private const long MaxDedupBody = 64L << 20;

    /// <summary>The route's settings over <see cref="DedupConfig.Default"/>; null when the block is not an object (the error is recorded).</summary>
    public static DedupConfig? Bind(ConfigReader r, ConfigNode node, string path)
    {
        if (r.Block(node, path, DedupKeys) is not { } dedup)
            return null;
        var defaults = DedupConfig.Default;

        var methods = defaults.Methods;
        if (r.Strings(dedup, path, "methods", "a method name") is { } methodItems)
        {
            var list = new List<string>();
            foreach (var (text, itemPath) in methodItems)
            {
                var m = text.ToUpperInvariant();
                if (m == "POST")
                    r.Error(itemPath, "POST coalesces only with post = true (its body hash joins the key); leave it out of methods");
                else if (m is not ("GET" or "HEAD"))
                    r.Error(itemPath, $"'{ConfigReader.Clip(text)}' cannot be coalesced (allowed: GET, HEAD)");
                else if (!list.Contains(m))
                    list.Add(m);
            }
            if (list.Count == 0 && methodItems.Count == 0)
                r.Error(ConfigPath.Child(path, "methods"), "must list at least one method");
            methods = [.. list];
        }

        var key = defaults.Key;
        if (r.Strings(dedup, path, "key", "a key part") is { } keyItems)
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
                        r.Error(itemPath, $"unknown key part '{ConfigReader.Clip(text)}' (allowed: method, host, path, query)");
                        break;
                }
            }
            // without the path every request of the route would share one response
            if ((key & DedupKeyParts.Path) == 0 && keyItems.Count > 0)
                r.Error(ConfigPath.Child(path, "key"), "must include path");
        }

        var headers = new List<string>();
        foreach (var (text, itemPath) in r.Strings(dedup, path, "headers", "a header name") ?? [])
        {
            if (text.Length == 0 || !text.All(ConfigReader.IsTokenChar))
                r.Error(itemPath, $"'{ConfigReader.Clip(text)}' is not a header name");
            else if (!headers.Contains(text, StringComparer.OrdinalIgnoreCase))
                headers.Add(text);
        }

        var maxBody = defaults.MaxBody;
        var maxBodyPath = ConfigPath.Child(path, "max-body");
        if (dedup.Get("max-body") is { } sizeNode && r.Text(sizeNode, maxBodyPath, "a size such as 1MB") is { } sizeText)
        {
            if (!ConfigValues.TryParseSize(sizeText, out var bytes, out var error))
                r.Error(maxBodyPath, error);
            else if (bytes is null or <= 0 or > MaxDedupBody)
                r.Error(maxBodyPath, $"must be from 1B to {MaxDedupBody / (1 << 20)}MiB (responses are buffered in memory)");
            else
                maxBody = bytes.Value;
        }

        return new DedupConfig(
            r.Bool(dedup, path, "enabled", true),
            methods,
            key,
            [.. headers],
            maxBody,
            r.OptionalDuration(dedup, path, "window") ?? defaults.Window)
        {
            Post = r.Bool(dedup, path, "post", false),
        };
    }
}
