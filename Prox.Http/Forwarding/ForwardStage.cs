using Prox.Http.Pipeline;

namespace Prox.Http.Forwarding;

/// <summary>The last stage: forwards the request with the <see cref="Forwarder"/> and answers what failed.</summary>
public sealed class ForwardStage(Forwarder forwarder) : IProxyStage
{
    public ValueTask InvokeAsync(ProxyContext ctx, ProxyStageDelegate next)
    {
        // one task for the whole forward, failures answered and errors caught inside it: nothing to wrap it in
        ctx.AnswersOwnErrors = true;
        return new ValueTask(forwarder.ServeAsync(ctx));
    }
}
