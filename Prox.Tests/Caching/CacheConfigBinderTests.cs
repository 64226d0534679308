using Prox.Actors.Caching;
using Prox.Actors.Config;
using Xunit;

namespace Prox.Tests.Caching;

/// <summary>The route's <c>cache { … }</c> block and <c>prox.cache</c>: binding, defaults and validation with paths.</summary>
public sealed class CacheConfigBinderTests
{
    private const string Backend = """backends = [{ url = "http://127.0.0.1:5001" }]""";

    private static string With(string route, string prox = "") => $"prox {{\n {prox}\n routes {{\n  api {{\n{Backend}\n{route}\n  }}\n }}\n}}\n";

    private static ConfigParseResult Parse(string text) => ProxConfigParser.ParseText(text, _ => null);

    private static ProxConfig Valid(string text)
    {
        var result = Parse(text);
        Assert.True(result.IsValid, string.Join(Environment.NewLine, result.Errors));
        return result.Config!;
    }

    [Fact]
    public void ParseText_FullCacheBlock_BindsEveryField()
    {
        var cfg = Valid(With("""
            cache { enabled = true, ttl = 300s, max-entry = 1MB, vary-by = ["Accept-Language"], stale-while-revalidate = 30s, stale-if-error = 300s }
            """, """cache { max-memory = 64MB, bypass-header = "X-Skip-Cache" }"""));
        var c = cfg.Routes[0].Cache!;
        Assert.Equal((true, TimeSpan.FromSeconds(300), 1_000_000L, TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(300)),
            (c.Enabled, c.Ttl, c.MaxEntryBytes, c.StaleWhileRevalidate, c.StaleIfError));
        Assert.Equal(["Accept-Language"], c.VaryBy.ToArray());
        Assert.Equal(new ProxCacheConfig(64_000_000, "X-Skip-Cache"), cfg.Cache);
    }

    [Fact]
    public void ParseText_NoCacheBlock_NoCacheAndDefaults()
    {
        var cfg = Valid(With(""));
        Assert.Null(cfg.Routes[0].Cache);
        Assert.Equal(ProxCacheConfig.Default, cfg.Cache);
        Assert.Equal(CacheConfig.Default, Valid(With("cache {}")).Routes[0].Cache);
    }

    [Fact]
    public void ParseText_BadValues_EveryErrorWithItsPath()
    {
        var result = Parse(With("""
            cache { ttl = 0s, max-entry = unlimited, vary-by = ["Bad Header"], stale-if-error = soon, tll = 5s }
            """, "cache { max-memory = -1, bypass-header = \"a b\" }"));
        Assert.False(result.IsValid);
        var paths = result.Errors.Select(e => e.Path).ToArray();
        Assert.Contains("prox.routes.api.cache.ttl", paths);
        Assert.Contains("prox.routes.api.cache.max-entry", paths);
        Assert.Contains("prox.routes.api.cache.vary-by[0]", paths);
        Assert.Contains("prox.routes.api.cache.stale-if-error", paths);
        Assert.Contains(result.Errors, e => e.Path == "prox.routes.api.cache.tll" && e.Message.Contains("ttl"));
        Assert.Contains("prox.cache.max-memory", paths);
        Assert.Contains("prox.cache.bypass-header", paths);
    }
}
