using Akka.Actor;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Prox.Actors.Supervision;
using Prox.Http.Errors;
using Prox.Http.Runtime;

namespace Prox.Http.Admin;

/// <summary><c>POST /admin/chaos/crash?route=NAME[&amp;backend=ID]</c>: crash a route's or a backend's actor to
/// watch supervision restart it; only with <c>prox.admin.chaos = on</c>.</summary>
internal sealed class ChaosEndpoints(ProxRuntime rt)
{
    public void Map(IEndpointRouteBuilder admin) => admin.MapPost("/chaos/crash", CrashAsync);

    private async Task CrashAsync(HttpContext ctx)
    {
        if (!rt.Config.Admin.Chaos)
        {
            await Problems.WriteAsync(ctx, StatusCodes.Status403Forbidden, "Chaos drills are off",
                "Set prox.admin.chaos = on to allow fault injection.");
            return;
        }
        var route = ctx.Request.Query["route"].ToString();
        var backend = ctx.Request.Query["backend"].ToString();
        if (route.Length == 0)
        {
            await Problems.WriteAsync(ctx, StatusCodes.Status400BadRequest, "Missing route",
                "Name the route to crash: ?route=NAME (and &backend=ID for one backend's actor).");
            return;
        }
        CrashActorReply reply;
        try
        {
            reply = await rt.Supervisor.Ask<CrashActorReply>(new CrashActor(route, backend.Length == 0 ? null : backend),
                AdminEndpoints.AskTimeout, ctx.RequestAborted);
        }
        catch (Exception e) when (e is AskTimeoutException or TaskCanceledException)
        {
            await Problems.WriteAsync(ctx, StatusCodes.Status503ServiceUnavailable, "Drill unavailable",
                "The actor system did not answer in time.", retryAfterSeconds: 1);
            return;
        }
        if (!reply.Found)
        {
            await Problems.WriteAsync(ctx, StatusCodes.Status404NotFound, "Not found", reply.Detail);
            return;
        }
        ctx.Response.StatusCode = StatusCodes.Status202Accepted;
        await AdminEndpoints.WriteJsonAsync(ctx, new CrashAccepted(true, reply.Detail));
    }

    /// <summary>The body of an accepted drill.</summary>
    private sealed record CrashAccepted(bool Accepted, string Detail);
}
