using Akka.Actor;
using Microsoft.Extensions.DependencyInjection;
using Prox.Actors.Config;
using Prox.Actors.Routing;
using Prox.Http;
using Prox.Http.Cache;
using Prox.Http.Forwarding;
using Prox.Http.Runtime;
using Xunit;

namespace Prox.Tests.Pipeline;

/// <summary>The proxy's stage list as the container builds it.</summary>
public class ProxyPipelineTests
{
    [Fact]
    public void AddProxPipeline_Stages_InTheDocumentedOrder()
    {
        var config = ProxConfigParser.ParseText("""prox { routes.r.backends = [ { url = "http://a:1" } ] }""", _ => null).Config!;
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddHttpForwarder();
        services.AddSingleton<ForwardingClients>();
        services.AddSingleton(new ProxRuntime(config, new ProxSnapshotStore(), () => ActorRefs.Nobody));
        services.AddSingleton(new ResponseCache(TimeProvider.System, 1 << 20));
        services.AddProxPipeline();
        using var provider = services.BuildServiceProvider();

        var stages = provider.GetRequiredService<ProxyPipeline>().Stages.Select(s => s.GetType().FullName);

        // each stage in its capability folder (namespace), in the order ProxyPipeline's doc comment lists them
        Assert.Equal(
        [
            "Prox.Http.Hygiene.HygieneStage", "Prox.Http.Routing.RouteMatchStage", "Prox.Http.Tls.HttpsStage", "Prox.Http.Hygiene.TraceStage",
            "Prox.Http.Limits.LimitsStage", "Prox.Http.WebSockets.WebSocketStage",
            "Prox.Http.Cache.CacheStage", "Prox.Http.Dedup.DedupStage", "Prox.Http.Forwarding.ForwardStage",
        ], stages);
    }
}
