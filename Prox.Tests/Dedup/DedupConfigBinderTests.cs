using Prox.Actors.Config;
using Prox.Actors.Dedup;
using Xunit;
using static Prox.Tests.Config.ConfigTexts;

namespace Prox.Tests.Dedup;

/// <summary>The route's <c>dedup { … }</c> block: binding, defaults, validation with paths, reload comparison.</summary>
public sealed class DedupConfigBinderTests
{
    [Fact]
    public void ParseText_IssueExample_BindsEveryField()
    {
        var d = SingleRoute(WithRoute($$"""
            {{Backend}}
            dedup { enabled = true, methods = [GET, HEAD], key = [method, path, query], headers = ["Accept", "Accept-Language"], max-body = 1MB, window = 10s }
            """)).Dedup!;

        Assert.True(d.Enabled);
        Assert.Equal(["GET", "HEAD"], d.Methods.ToArray());
        Assert.Equal(DedupKeyParts.Method | DedupKeyParts.Path | DedupKeyParts.Query, d.Key);
        Assert.Equal(["Accept", "Accept-Language"], d.Headers.ToArray());
        Assert.Equal(1_000_000, d.MaxBody);
        Assert.Equal(TimeSpan.FromSeconds(10), d.Window);
        Assert.False(d.Post);
        Assert.True(SingleRoute(WithRoute(Backend + "\ndedup.post = true")).Dedup!.Post);
    }

    [Fact]
    public void ParseText_EmptyBlock_IsOnWithDefaults_AbsentBlock_IsOff()
    {
        Assert.True(ConfigComparer.Same(DedupConfig.Default, SingleRoute(WithRoute(Backend + "\ndedup {}")).Dedup));
        Assert.Null(SingleRoute(WithRoute(Backend)).Dedup);
        Assert.False(SingleRoute(WithRoute(Backend + "\ndedup.enabled = false")).Dedup!.Enabled);
    }

    [Fact]
    public void ParseText_BadDedupBlock_ReportsEveryErrorWithItsPath()
    {
        var errors = Errors(WithRoute($$"""
            {{Backend}}
            dedup { methods = [GET, POST, PUT], key = [path, cookie], headers = ["Bad Header"], max-body = 1GB, window = 0s, widow = 1s }
            """));

        Assert.Contains("prox.routes.api.dedup.methods[1]: POST coalesces only with post = true (its body hash joins the key); leave it out of methods", errors);
        Assert.Contains("prox.routes.api.dedup.methods[2]: 'PUT' cannot be coalesced (allowed: GET, HEAD)", errors);
        Assert.Contains("prox.routes.api.dedup.key[1]: unknown key part 'cookie' (allowed: method, host, path, query)", errors);
        Assert.Contains("prox.routes.api.dedup.headers[0]: 'Bad Header' is not a header name", errors);
        Assert.Contains(errors, e => e.StartsWith("prox.routes.api.dedup.max-body: must be from 1B to 64MiB", StringComparison.Ordinal));
        Assert.Contains("prox.routes.api.dedup.window: must be greater than 0", errors);
        Assert.Contains("prox.routes.api.dedup.widow: unknown key (did you mean 'window'?)", errors);
    }

    [Fact]
    public void ParseText_KeyWithoutPath_IsAnError()
    {
        Assert.Contains("prox.routes.api.dedup.key: must include path",
            Errors(WithRoute(Backend + "\ndedup.key = [method, query]")));
    }

    [Fact]
    public void ConfigComparer_DedupChange_IsARouteChange()
    {
        var a = SingleRoute(WithRoute(Backend + "\ndedup { window = 5s }"));
        var same = SingleRoute(WithRoute(Backend + "\ndedup { window = 5s }"));
        var b = SingleRoute(WithRoute(Backend + "\ndedup { window = 6s }"));
        var c = SingleRoute(WithRoute(Backend + "\ndedup { window = 5s, headers = [Accept] }"));

        Assert.True(ConfigComparer.Same(a, same));
        Assert.False(ConfigComparer.Same(a, b));
        Assert.False(ConfigComparer.Same(a, c));
        Assert.False(ConfigComparer.Same(a, SingleRoute(WithRoute(Backend))));
    }
}
