using Prox.Actors.Config;
using Prox.Actors.Hocon;
using Xunit;

namespace Prox.Tests.Config;

/// <summary>What the admin API writes back binds to exactly the same backends.</summary>
public sealed class HoconWriterTests
{
    private const string Rich = """
        prox {
          routes {
            api {
              match.path-prefix = "/api"
              health { path = "/h", interval = 5s, expect { status = ["200-299", "304"], body-contains = "o\"k" } }
              breaker { consecutive-failures = 3, failure-rate = 12.5% }
              recovery { after = 10s, http { url = "http://127.0.0.1:9/restart", headers { Authorization = "Bearer x" }, body = "go" } }
              backends = [
                { id = "a", url = "http://127.0.0.1:5001", weight = 3 }
                { url = "http://127.0.0.1:5002/v2", timeout = 1500ms, drain = true, health { timeout = 250us, unhealthy-after = 7 } }
                { id = "c-d", url = "https://example.net", breaker { half-open-trials = 2 }, recovery { command = ["/bin/echo", "a b", "$x"] } }
              ]
            }
            "web.site" {
              match.path-prefix = "/"
              backends = [ { url = "http://127.0.0.1:6001" } ]
            }
          }
        }
        """;

    private static ProxConfig Parse(string text)
    {
        var parsed = ProxConfigParser.ParseText(text, _ => null);
        Assert.True(parsed.IsValid, string.Join("\n", parsed.Errors));
        return parsed.Config!;
    }

    [Theory]
    [InlineData(Rich)]
    [InlineData("{ \"prox\": { \"routes\": { \"api\": { \"backends\": [ { \"url\": \"http://127.0.0.1:5001\", \"weight\": 2 } ] } } } }")]
    public void WithBackends_RewrittenList_BindsToTheSameBackends(string text)
    {
        var before = Parse(text);
        var rewritten = text;
        foreach (var route in before.Routes)
            rewritten = HoconWriter.WithBackends(rewritten, route.Id, HoconWriter.Backends(route, route.Backends));

        var after = Parse(rewritten);
        foreach (var (b, a) in before.Routes.Zip(after.Routes))
            Assert.True(ConfigComparer.Same(b, a), $"route {b.Id} differs after the rewrite:\n{rewritten}");
    }

    [Fact]
    public void WithBackends_Twice_ReplacesItsOwnBlock_LastListWins()
    {
        var cfg = Parse(Rich);
        var route = cfg.Routes[0];
        var once = HoconWriter.WithBackends(Rich, "api", HoconWriter.Backends(route, route.Backends.Take(1)));
        var twice = HoconWriter.WithBackends(once, "api", HoconWriter.Backends(route, route.Backends.Skip(1)));

        Assert.Equal(1, CountOf(twice, "# prox:dynamic-backends api"));
        var ids = Parse(twice).Routes[0].Backends.Select(b => b.Id).ToArray();
        Assert.Equal(["127.0.0.1:5002", "c-d"], ids);
    }

    [Fact]
    public void WithBackends_AddedBackend_InheritsTheRoutesBlocks()
    {
        var cfg = Parse(Rich);
        var route = cfg.Routes[0];
        var added = new BackendConfig("new", new Uri("http://127.0.0.1:5009"), 1, null)
        {
            Health = route.Health, Breaker = route.Breaker, Recovery = route.Recovery,
        };
        var text = HoconWriter.WithBackends(Rich, "api", HoconWriter.Backends(route, [.. route.Backends, added]));

        var back = Parse(text).Routes[0].Backends[^1];
        Assert.True(ConfigComparer.Same(added, back));
        Assert.DoesNotContain("health", text[text.IndexOf("id = \"new\"", StringComparison.Ordinal)..].Split('\n')[0]);
    }

    private static int CountOf(string s, string what) => (s.Length - s.Replace(what, "", StringComparison.Ordinal).Length) / what.Length;
}
