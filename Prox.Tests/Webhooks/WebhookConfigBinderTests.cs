using Prox.Actors.Config;
using Prox.Actors.Events;
using Prox.Actors.Persistence;
using Prox.Actors.Webhooks;
using Xunit;

namespace Prox.Tests.Webhooks;

/// <summary><c>prox.webhooks</c> and <c>prox.persistence</c>: binding, defaults and validation with paths.</summary>
public sealed class WebhookConfigBinderTests
{
    private const string Route = """routes.api { backends = [{ url = "http://127.0.0.1:5001" }] }""";

    private static ConfigParseResult Parse(string body, Func<string, string?>? env = null) =>
        ProxConfigParser.ParseText($"prox {{\n{Route}\n{body}\n}}\n", env ?? (_ => null));

    private static ProxConfig AssertValid(ConfigParseResult result)
    {
        Assert.True(result.IsValid, string.Join(Environment.NewLine, result.Errors));
        return result.Config!;
    }

    private static string[] Errors(string body) => Parse(body).Errors.Select(e => e.ToString()).ToArray();

    [Fact]
    public void ParseText_IssueExample_BindsEveryField_SecretFromEnvironment()
    {
        var cfg = AssertValid(Parse("""
            webhooks = [
              { name = ops, url = "https://hooks.example.com/prox", events = ["backend-down", "backend-up", "pool-down", "pool-up"], secret = ${?PROX_WEBHOOK_SECRET}, format = json }
            ]
            """, name => name == "PROX_WEBHOOK_SECRET" ? "abc" : null));

        var hook = Assert.Single(cfg.Webhooks);
        Assert.Equal(new WebhookConfig("ops", new Uri("https://hooks.example.com/prox"),
            null, "abc", WebhookFormat.Json,
            TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(5), 10_000), hook with { Events = null });
        Assert.Equal(["backend-down", "backend-up", "pool-down", "pool-up"], hook.Events!.Value.ToArray());
    }

    [Fact]
    public void ParseText_SecretEnvUnset_Unsigned()
    {
        var hook = Assert.Single(AssertValid(Parse("""webhooks = [ { name = ops, url = "https://h.example", secret = ${?PROX_WEBHOOK_SECRET} } ]""")).Webhooks);

        Assert.Null(hook.Secret);
    }

    [Fact]
    public void ParseText_EventsAbsent_EveryKind()
    {
        var hook = Assert.Single(AssertValid(Parse("""webhooks = [ { name = ops, url = "https://h.example" } ]""")).Webhooks);

        Assert.Null(hook.Events);
        Assert.All(ProxEventKinds.All, k => Assert.True(hook.Wants(k)));
        Assert.Equal(ProxEventKinds.All, hook.EffectiveEvents);
    }

    [Fact]
    public void ParseText_AllKeys_Bound()
    {
        var hook = Assert.Single(AssertValid(Parse("""
            webhooks = [ { name = chat, url = "http://127.0.0.1:9000/x?token=1", format = slack, timeout = 3s,
                           backoff = 50ms, max-backoff = 2s, max-pending = 50, events = pool-down } ]
            persistence { provider = sqlite, data-dir = "/var/lib/prox" }
            """)).Webhooks);

        Assert.Equal((WebhookFormat.Slack, TimeSpan.FromSeconds(3), TimeSpan.FromMilliseconds(50), TimeSpan.FromSeconds(2), 50),
            (hook.Format, hook.Timeout, hook.Backoff, hook.MaxBackoff, hook.MaxPending));
        Assert.Equal(["pool-down"], hook.Events!.Value.ToArray());
    }

    [Fact]
    public void ParseText_Persistence_DefaultsAndDataDir()
    {
        Assert.Equal(PersistenceConfig.Default, AssertValid(Parse("")).Persistence);
        Assert.True(AssertValid(Parse("")).Webhooks.IsEmpty);

        var p = AssertValid(Parse("""persistence { data-dir = "state" }""")).Persistence;
        Assert.Equal(Path.Combine(Environment.CurrentDirectory, "state", "prox.db"), p.DatabasePath);
    }

    [Theory]
    [InlineData("""webhooks = [ { name = ops, url = "https://h.example", evnets = [pool-down] } ]""",
        "prox.webhooks[0].evnets: unknown key (did you mean 'events'?)")]
    [InlineData("""webhooks = [ { name = ops, url = "ftp://h.example" } ]""", "prox.webhooks[0].url: not an absolute http(s) URL")]
    [InlineData("""webhooks = [ { name = ops, url = "hooks/prox" } ]""", "prox.webhooks[0].url: not an absolute http(s) URL")]
    [InlineData("""webhooks = [ { name = ops } ]""", "prox.webhooks[0].url: missing: where to POST events")]
    [InlineData("""webhooks = [ { url = "https://h.example" } ]""", "prox.webhooks[0].name: missing: every webhook needs a name")]
    [InlineData("""webhooks = [ { name = "a b", url = "https://h.example" } ]""",
        "prox.webhooks[0].name: must start with a letter or digit and contain only letters, digits, '.', '-' or '_' (at most 100)")]
    [InlineData("""webhooks = [ { name = ops, url = "https://a.example" }, { name = ops, url = "https://b.example" } ]""",
        "prox.webhooks[1].name: duplicate webhook name 'ops' (also used by prox.webhooks[0])")]
    [InlineData("""webhooks = [ { name = ops, url = "https://h.example", format = xml } ]""",
        "prox.webhooks[0].format: unknown format 'xml' (allowed: json, slack)")]
    [InlineData("""webhooks = [ { name = ops, url = "https://h.example", events = [backend-down, backend-dwn] } ]""",
        "prox.webhooks[0].events[1]: unknown event kind 'backend-dwn' (did you mean 'backend-down'?)")]
    [InlineData("""webhooks = [ { name = ops, url = "https://h.example", events = [] } ]""",
        "prox.webhooks[0].events: must list at least one event kind (leave events out for all kinds)")]
    [InlineData("""webhooks = [ { name = ops, url = "https://h.example", secret = "" } ]""",
        "prox.webhooks[0].secret: must not be empty (leave it out for unsigned deliveries)")]
    [InlineData("""webhooks = [ { name = ops, url = "https://h.example", timeout = 0s } ]""", "prox.webhooks[0].timeout: must be greater than 0")]
    [InlineData("""webhooks = [ { name = ops, url = "https://h.example", backoff = 10s, max-backoff = 1s } ]""",
        "prox.webhooks[0].max-backoff: max-backoff (00:00:01) must not be less than backoff (00:00:10)")]
    [InlineData("""webhooks = { name = ops }""",
        "prox.webhooks: expected a list of webhooks such as [ { name = ops, url = \"https://…\" } ], got an object")]
    [InlineData("""persistence { provider = postgres }""", "prox.persistence.provider: unknown provider 'postgres' (allowed: sqlite, postgresql)")]
    [InlineData("""persistence { data-dri = x }""", "prox.persistence.data-dri: unknown key (did you mean 'data-dir'?)")]
    [InlineData("""persistence { connection-string = "Host=db" }""",
        "prox.persistence.connection-string: not used by provider sqlite (its file is <data-dir>/prox.db)")]
    public void ParseText_Invalid_ErrorWithPath(string body, string expected)
    {
        Assert.Contains(expected, Errors(body));
    }

    [Fact]
    public void ParseText_SeveralErrors_AllReported()
    {
        var errors = Errors("""
            webhooks = [
              { name = a, url = "nope", format = xml, events = [bogus] }
              { name = b, url = "https://ok.example", timeout = soon }
            ]
            """);

        Assert.Equal(4, errors.Length);
    }

    [Fact]
    public void ParseText_BadUrlWithCredentials_NotEchoed()
    {
        var errors = Errors("""webhooks = [ { name = ops, url = "mailto://user:hunter2@h" } ]""");

        Assert.DoesNotContain(errors, e => e.Contains("hunter2"));
    }
}
