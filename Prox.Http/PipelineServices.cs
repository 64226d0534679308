using Microsoft.Extensions.DependencyInjection;
using Prox.Http.Cache;
using Prox.Http.Dedup;
using Prox.Http.Forwarding;
using Prox.Http.Hygiene;
using Prox.Http.Limits;
using Prox.Http.Routing;
using Prox.Http.Tls;
using Prox.Http.WebSockets;

namespace Prox.Http;

/// <summary>Registers the proxy's request path.</summary>
public static class PipelineServices
{
    /// <summary>Adds the <see cref="ProxyPipeline"/>, its stages and what they share (the <see cref="Forwarder"/>,
    /// <see cref="Coalescing"/>). Expects <see cref="ProxRuntime"/>, the <see cref="ResponseCache"/>, <see cref="ForwardingClients"/>, YARP's
    /// <c>IHttpForwarder</c> and logging to be registered.</summary>
    public static IServiceCollection AddProxPipeline(this IServiceCollection services)
    {
        services.AddSingleton<Forwarder>();
        services.AddSingleton<Coalescing>();
        services.AddSingleton<HygieneStage>();
        services.AddSingleton<RouteMatchStage>();
        services.AddSingleton<HttpsStage>();
        services.AddSingleton<TraceStage>();
        services.AddSingleton<LimitsStage>();
        services.AddSingleton<WebSocketStage>();
        services.AddSingleton<CacheStage>();
        services.AddSingleton<DedupStage>();
        services.AddSingleton<ForwardStage>();
        services.AddSingleton<ProxyPipeline>();
        return services;
    }
}
