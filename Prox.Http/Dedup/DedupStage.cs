using Prox.Http.Pipeline;

namespace Prox.Http.Dedup;

/// <summary>On a route with <c>dedup</c> on, identical requests in flight share one backend exchange
/// (<see cref="Coalescing"/>); every other request passes on at the cost of one field read.</summary>
public sealed class DedupStage(Coalescing coalescing) : IProxyStage
{
    public ValueTask InvokeAsync(ProxyContext ctx, ProxyStageDelegate next)
    {
        if (ctx.Snapshot.Config.Dedup is { Enabled: true } dedup && Coalescing.Applies(dedup, ctx.Http.Request))
            return new ValueTask(coalescing.InvokeAsync(ctx, dedup));
        return next(ctx);
    }
}
