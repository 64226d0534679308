using Akka.Actor;
using Microsoft.Extensions.DependencyInjection;
using Prox.Actors.Config;
using Prox.Actors.Routing;
using Prox.Http;
using Prox.Http.Cache;
using Prox.Http.Dedup;
using Prox.Http.Forwarding;
using Prox.Http.Hygiene;
using Prox.Http.Limits;
using Prox.Http.Routing;
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
        services.AddProxPipeline();
        using var provider = services.BuildServiceProvider();

        var stages = provider.GetRequiredService<ProxyPipeline>().Stages.Select(s => s.GetType());

        Assert.Equal(
            [typeof(HygieneStage), typeof(RouteMatchStage), typeof(LimitsStage), typeof(CacheStage), typeof(DedupStage), typeof(ForwardStage)],
            stages);
    }
}
