using Microsoft.AspNetCore.Http;
using Prox.Http.Errors;
using Prox.Http.Pipeline;
using Prox.Http.Runtime;

namespace Prox.Http.Limits;

/// <summary>Answers 413 to a request that declares a body over <c>limits.max-request-body</c>. (A body that only
/// grows past it while streamed is cut off by Kestrel; the forwarder answers that one.)</summary>
public sealed class LimitsStage(ProxRuntime rt) : IProxyStage
{
    public ValueTask InvokeAsync(ProxyContext ctx, ProxyStageDelegate next)
    {
        if (rt.Config.Limits.MaxRequestBodyBytes is { } max && ctx.Http.Request.ContentLength > max)
        {
            return new ValueTask(Problems.WriteAsync(ctx.Http, StatusCodes.Status413PayloadTooLarge, "Request body too large",
                $"The request body is larger than the limit of {max} bytes.", ctx.RequestId));
        }
        return next(ctx);
    }
}
