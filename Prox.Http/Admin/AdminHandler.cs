using System.Reflection;
using System.Text.Json;
using System.Text.Json.Serialization;
using Akka.Actor;
using Microsoft.AspNetCore.Http;
using Prox.Actors.Events;
using Prox.Actors.Routing;
using Prox.Actors.Supervision;
using Prox.Actors.Webhooks;
using Prox.Http.Errors;

namespace Prox.Http.Admin;

/// <summary>The admin listener's endpoints: <c>GET /status</c> and <c>GET /healthz</c>.</summary>
public sealed class AdminHandler(ProxRuntime rt, IConfigReloader? reloader = null)
{
    private readonly ConfigEndpoints? _config = reloader is null ? null : new ConfigEndpoints(rt, reloader);

    private static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(5);

    /// <summary>How many of the newest events <c>/status</c> shows.</summary>
    public const int StatusEvents = 200;

    internal static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        // read by people and tools, never embedded in HTML: keep '+', '"' and '<' readable in config texts and diffs
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static string Version { get; } =
        typeof(AdminHandler).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0]
        ?? "0.0.0";

    public async Task InvokeAsync(HttpContext ctx)
    {
        var path = ctx.Request.Path.Value;
        var isRead = HttpMethods.IsGet(ctx.Request.Method) || HttpMethods.IsHead(ctx.Request.Method);
        switch (path)
        {
            case "/healthz" when isRead:
                await WriteJsonAsync(ctx, new { status = "ok" });
                return;
            case "/status" when isRead:
                await StatusAsync(ctx);
                return;
            case "/admin/events" when isRead:
                await EventsAsync(ctx);
                return;
            case "/admin/chaos/crash" when HttpMethods.IsPost(ctx.Request.Method):
                await CrashAsync(ctx);
                return;
            case "/admin/config/reload" when HttpMethods.IsPost(ctx.Request.Method):
                await ReloadAsync(ctx);
                return;
            case "/admin/chaos/crash" or "/admin/config/reload":
                await Problems.WriteAsync(ctx, StatusCodes.Status405MethodNotAllowed, "Method not allowed",
                    $"{path} supports POST.", headers: ("Allow", "POST"));
                return;
            case var p when _config is not null && ConfigEndpoints.Handles(p):
                await _config.InvokeAsync(ctx);
                return;
            case "/healthz" or "/status" or "/admin/events":
                await Problems.WriteAsync(ctx, StatusCodes.Status405MethodNotAllowed, "Method not allowed",
                    $"{path} supports GET and HEAD.", headers: ("Allow", "GET, HEAD"));
                return;
            default:
                await Problems.WriteAsync(ctx, StatusCodes.Status404NotFound, "Not found",
                    "Unknown admin endpoint. Try /status, /healthz or /admin/events.");
                return;
        }
    }

    /// <summary><c>POST /admin/config/reload</c>: re-read the config file and apply it (as SIGHUP does).</summary>
    private async Task ReloadAsync(HttpContext ctx)
    {
        if (reloader?.FilePath is null)
        {
            await Problems.WriteAsync(ctx, StatusCodes.Status409Conflict, "No config file",
                "This Prox was not started from a config file, so there is nothing to reload.");
            return;
        }
        var result = await reloader.ReloadAsync("admin request", ctx.RequestAborted);
        if (!result.Ok)
        {
            await Problems.WriteAsync(ctx, StatusCodes.Status422UnprocessableEntity, "Config rejected",
                $"The config file has {result.Errors.Length} error(s); the running config is unchanged.",
                errors: result.Errors);
            return;
        }
        await WriteJsonAsync(ctx, new
        {
            applied = true,
            version = result.Version?.Number,
            recorded = result.Recorded,
            changed = result.ChangedPaths,
            routes = result.Changes,
            restartNeeded = result.RestartNeeded,
        });
    }

    private async Task StatusAsync(HttpContext ctx)
    {
        ProxStatus status;
        EventsPage events;
        try
        {
            status = await rt.Supervisor.Ask<ProxStatus>(GetProxStatus.Instance, AskTimeout, ctx.RequestAborted);
            events = await rt.Supervisor.Ask<EventsPage>(new GetEvents(null, StatusEvents), AskTimeout, ctx.RequestAborted);
        }
        catch (Exception e) when (e is AskTimeoutException or TaskCanceledException)
        {
            await Problems.WriteAsync(ctx, StatusCodes.Status503ServiceUnavailable, "Status unavailable",
                "The actor system did not answer in time.", retryAfterSeconds: 1);
            return;
        }
        WebhookStatusReply? webhooks;
        try
        {
            webhooks = await rt.Supervisor.Ask<WebhookStatusReply>(GetWebhookStatus.Instance, AskTimeout, ctx.RequestAborted);
        }
        catch (AskTimeoutException)
        {
            webhooks = null; // the Notifier is restarting (its journal failed): the rest of /status still answers
        }

        var now = DateTimeOffset.UtcNow;
        var gc = GC.GetGCMemoryInfo();
        using var self = System.Diagnostics.Process.GetCurrentProcess();
        await WriteJsonAsync(ctx, new
        {
            version = Version,
            startedAt = rt.Store.StartedAt,
            uptimeSeconds = Math.Round((now - rt.Store.StartedAt).TotalSeconds, 1),
            process = new
            {
                rssBytes = self.WorkingSet64,
                gcHeapBytes = gc.HeapSizeBytes,
                gcCommittedBytes = gc.TotalCommittedBytes,
                gcCollections = new[] { GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2) },
                gcServer = System.Runtime.GCSettings.IsServerGC,
                threads = self.Threads.Count,
            },
            routes = status.Routes.Select(r => new
            {
                name = r.Name,
                policy = r.Policy,
                match = new { pathPrefix = r.PathPrefix, hosts = r.Hosts },
                eligible = r.Eligible,
                snapshotVersion = r.SnapshotVersion,
                backends = r.Backends,
            }),
            events = events.Events,
            webhooks = webhooks?.Webhooks,
        });
    }

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
                AskTimeout, ctx.RequestAborted);
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
        await WriteJsonAsync(ctx, new { accepted = true, detail = reply.Detail });
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
                AskTimeout, ctx.RequestAborted);
        }
        catch (Exception e) when (e is AskTimeoutException or TaskCanceledException)
        {
            await Problems.WriteAsync(ctx, StatusCodes.Status503ServiceUnavailable, "Events unavailable",
                "The actor system did not answer in time.", retryAfterSeconds: 1);
            return;
        }
        await WriteJsonAsync(ctx, new
        {
            events = page.Events,
            next = page.Events.IsEmpty ? (since.Length == 0 ? null : since) : page.Events[^1].Id,
            more = page.More,
        });
    }

    internal static async Task WriteJsonAsync<T>(HttpContext ctx, T body)
    {
        ctx.Response.ContentType = "application/json; charset=utf-8";
        ctx.Response.Headers.CacheControl = "no-store";
        if (HttpMethods.IsHead(ctx.Request.Method)) return;
        await JsonSerializer.SerializeAsync(ctx.Response.Body, body, Json, ctx.RequestAborted);
    }
}
