using System.Runtime.CompilerServices;
using Prox.Http.Pipeline;

namespace Prox.Http.Forwarding;

/// <summary>The last stage: forwards the request with the <see cref="Forwarder"/> and answers what failed.</summary>
public sealed class ForwardStage(Forwarder forwarder) : IProxyStage
{
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    public async ValueTask InvokeAsync(ProxyContext ctx, ProxyStageDelegate next)
    {
        var failure = await forwarder.ForwardAsync(ctx);
        if (!failure.IsNone)
            await failure.WriteAsync(ctx);
    }
}
