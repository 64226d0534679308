using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Prox.Http.Errors;

/// <summary>
/// The last line of the request path: an exception no stage handled is logged and answered with a 500 problem
/// without details, and the process keeps serving. A cancellation because the client left is not an error.
/// </summary>
public static class Boundary
{
    /// <summary>Whether <paramref name="e"/> is an error for the boundary (not the client leaving).</summary>
    public static bool Catches(Exception e, HttpContext ctx) =>
        e is not OperationCanceledException || !ctx.RequestAborted.IsCancellationRequested;

    /// <summary>Logs <paramref name="e"/> and answers 500 if nothing was sent yet.</summary>
    public static Task AnswerAsync(HttpContext ctx, Exception e, ILogger log)
    {
        log.LogError(e, "Unhandled error serving {Method} {Path}", ctx.Request.Method, ctx.Request.Path);
        return Problems.WriteAsync(ctx, StatusCodes.Status500InternalServerError, "Internal error",
            "Prox failed to handle this request; the error was logged.");
    }

    /// <summary>Awaits a request that did not end at once, inside the boundary.</summary>
    public static async Task GuardAsync(ValueTask serving, HttpContext ctx, ILogger log)
    {
        try
        {
            await serving;
        }
        catch (Exception e) when (Catches(e, ctx))
        {
            await AnswerAsync(ctx, e, log);
        }
    }
}
