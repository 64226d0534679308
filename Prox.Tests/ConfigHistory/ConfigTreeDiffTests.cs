using Prox.Actors.ConfigHistory;
using Xunit;

namespace Prox.Tests.ConfigHistory;

public class ConfigTreeDiffTests
{
    private const string Base = """
        prox {
          listen = "127.0.0.1:8080"
          routes.api {
            match.path-prefix = "/api"
            backends = [ { url = "http://a:1", weight = 1 }, { url = "http://b:1", weight = 1 } ]
          }
        }
        """;

    [Fact]
    public void ChangedPaths_SameTree_DifferentLayout_None() =>
        Assert.Empty(ConfigTreeDiff.ChangedPaths(Base, """
            prox.listen = "127.0.0.1:8080"
            prox.routes { api { match { path-prefix = "/api" }
              backends = [ { url = "http://a:1", weight = 1 }
                           { url = "http://b:1", weight = 1 } ] } }
            """)!);

    [Fact]
    public void ChangedPaths_WeightOfSecondBackend_HoconPath() =>
        Assert.Equal(["prox.routes.api.backends[1].weight"],
            ConfigTreeDiff.ChangedPaths(Base, Base.Replace("""url = "http://b:1", weight = 1""", """url = "http://b:1", weight = 5"""))!);

    [Fact]
    public void ChangedPaths_AddedRouteRemovedKeyAndListItem_OnePathEach()
    {
        var to = """
            prox {
              routes.api {
                match.path-prefix = "/api"
                backends = [ { url = "http://a:1", weight = 1 } ]
              }
              routes.web { backends = [ { url = "http://w:1" } ] }
            }
            """;

        Assert.Equal(["prox.listen", "prox.routes.api.backends[1]", "prox.routes.web"], ConfigTreeDiff.ChangedPaths(Base, to)!);
    }

    [Fact]
    public void ChangedPaths_KindChanged_KeysNeedingQuotes_Quoted() =>
        Assert.Equal(["prox.x", "prox.\"a.b\""],
            ConfigTreeDiff.ChangedPaths("""prox { x = 1, "a.b" = 1 }""", """prox { x { y = 1 }, "a.b" = 2 }""")!);

    [Fact]
    public void ChangedPaths_InvalidHocon_Null() => Assert.Null(ConfigTreeDiff.ChangedPaths(Base, "prox { "));
}
