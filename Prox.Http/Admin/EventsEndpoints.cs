using System.Collections.Immutable;
using Akka.Actor;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Prox.Actors.Events;
using Prox.Http.Errors;
using Prox.Http.Runtime;

namespace Prox.Http.Admin;

/// <summary><c>GET /admin/events</c> (the event log, paged with <c>since</c> and <c>limit</c>) and
/// <c>GET /admin/audit</c> (the newest mutating admin requests).</summary>
internal sealed class EventsEndpoints(ProxRuntime rt, AdminAudit audit)
{
    public void Map(IEndpointRouteBuilder admin)
    {
        admin.MapMethods("/events", AdminEndpoints.Read, EventsAsync);
        admin.MapMethods("/audit", AdminEndpoints.Read, ctx => AdminEndpoints.WriteJsonAsync(ctx, new AuditBody(audit.Entries())));
    }

    private async Task EventsAsync(HttpContext ctx)
    {
        var q = ctx.Request.Query;
        var since = q["since"].ToString();
        var limitText = q["limit"].ToString();
        var limit = 100;
        if (limitText.Length > 0 && (!int.TryParse(limitText, out limit) || limit is < 1 or > 1000))
        {
            await Problems.WriteAsync(ctx, StatusCodes.Status400BadRequest, "Bad limit",
                "limit must be an integer from 1 to 1000.");
            return;
        }
        EventsPage page;
        try
        {
            page = await rt.Supervisor.Ask<EventsPage>(new GetEvents(since.Length == 0 ? null : since, limit),
                AdminEndpoints.AskTimeout, ctx.RequestAborted);
        }
        catch (Exception e) when (e is AskTimeoutException or TaskCanceledException)
        {
            await Problems.WriteAsync(ctx, StatusCodes.Status503ServiceUnavailable, "Events unavailable",
                "The actor system did not answer in time.", retryAfterSeconds: 1);
            return;
        }
        await AdminEndpoints.WriteJsonAsync(ctx, new EventsBody(
            page.Events,
            page.Events.IsEmpty ? (since.Length == 0 ? null : since) : page.Events[^1].Id,
            page.More));
    }

    /// <summary>The body of <c>/admin/events</c>: pass <paramref name="Next"/> as <c>since</c> for the next page.</summary>
    private sealed record EventsBody(ImmutableArray<ProxEvent> Events, string? Next, bool More);

    /// <summary>The body of <c>/admin/audit</c>, oldest first.</summary>
    private sealed record AuditBody(ImmutableArray<AuditEntry> Entries);
}
