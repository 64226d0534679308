namespace Prox.Http.Pipeline;

/// <summary>The rest of the pipeline after a stage: call it to pass the request on.</summary>
public delegate ValueTask ProxyStageDelegate(ProxyContext ctx);

/// <summary>
/// One step of the proxy's request path (the list and its order are in <c>ProxyPipeline</c>). A stage either
/// answers the request itself (and does not call <paramref name="next"/>) or passes it on by returning
/// <c>next(ctx)</c>. Stages are singletons shared by all requests: per-request state lives in the
/// <see cref="ProxyContext"/>, never in a field.
/// </summary>
/// <remarks>
/// A stage that is off for the matched route should cost a null check: test the route's config and return
/// <c>next(ctx)</c> without <c>async</c>, so passing on allocates nothing. A stage never calls another stage; what
/// stages share (the <c>Forwarder</c>, request coalescing) is a service they are given.
/// </remarks>
public interface IProxyStage
{
    ValueTask InvokeAsync(ProxyContext ctx, ProxyStageDelegate next);
}
