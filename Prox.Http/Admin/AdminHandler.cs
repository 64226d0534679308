using System.Reflection;
using System.Text.Json;
using System.Text.Json.Serialization;
using Akka.Actor;
using Microsoft.AspNetCore.Http;
using Prox.Actors.Config;
using Prox.Actors.Events;
using Prox.Actors.Routing;
using Prox.Actors.Supervision;
using Prox.Actors.Webhooks;
using Prox.Http.Errors;

namespace Prox.Http.Admin;

/// <summary>
/// The admin listener's endpoints: <c>GET /status</c>, <c>GET /healthz</c>, events, audit and chaos drills.
/// Every request passes <see cref="InvokeAsync"/>'s one access check (token and role by method) and every
/// mutating one is audited, so endpoints added later get both without doing anything.
/// </summary>
public sealed class AdminHandler(ProxRuntime rt, AdminAudit audit, IConfigReloader? reloader = null, IClusterStatus? cluster = null)
{
    private readonly ConfigEndpoints? _config = reloader is null ? null : new ConfigEndpoints(rt, reloader);

    private static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(5);

    /// <summary>How long <c>/status</c> waits for the webhook Notifier: it is left out when the Notifier is restarting
    /// (its journal failed) or, in a cluster, its node is unreachable until the singleton has moved.</summary>
    private static readonly TimeSpan WebhookStatusTimeout = TimeSpan.FromSeconds(2);

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
        var method = ctx.Request.Method;
        var required = AdminAuth.RequiredRole(method);
        if (required == AdminRole.Read)
        {
            if ((await AuthorizeAsync(ctx, required)).Allowed)
                await RouteAsync(ctx);
            return;
        }

        // mutating: audited whatever the outcome, including refusals and failures
        var who = "unauthenticated";
        var threw = true;
        try
        {
            var (caller, allowed) = await AuthorizeAsync(ctx, required);
            who = caller?.Name ?? who;
            if (allowed)
                await RouteAsync(ctx);
            threw = false;
        }
        finally
        {
            // an exception is answered 500 by the host's boundary after this
            var status = threw && !ctx.Response.HasStarted ? StatusCodes.Status500InternalServerError : ctx.Response.StatusCode;
            audit.Record(new AuditEntry(audit.Time.GetUtcNow(), who, method,
                ctx.Request.Path.Value + ctx.Request.QueryString.Value, status,
                ctx.Connection.RemoteIpAddress?.ToString()));
        }
    }

    /// <summary>Who the caller is (null: unauthenticated) and whether it may make this request; when it may not,
    /// the 401 or 403 has been written.</summary>
    private readonly BackendsApi _backends = new(rt, reloader);

    /// <summary>Where the caller's name is left for endpoints that record who did something (config versions).</summary>
    public const string IdentityItem = "prox.admin.identity";

    private async Task<(AdminCaller? Caller, bool Allowed)> AuthorizeAsync(HttpContext ctx, AdminRole required)
    {
        var (caller, allowed) = await CheckAsync(ctx, required);
        if (caller is not null) ctx.Items[IdentityItem] = caller.Name;
        return (caller, allowed);
    }

    private async Task<(AdminCaller? Caller, bool Allowed)> CheckAsync(HttpContext ctx, AdminRole required)
    {
        var tokens = rt.Config.Admin.Tokens;
        if (tokens.IsEmpty) return (AdminCaller.AnonymousLoopback, true); // the binder allows no tokens on loopback only
        // liveness probes (load balancers, orchestrators) carry no token
        if (required == AdminRole.Read && ctx.Request.Path.Value == "/healthz") return (null, true);

        var header = ctx.Request.Headers.Authorization.ToString();
        if (AdminAuth.Authenticate(header.Length == 0 ? null : header, tokens) is not { } caller)
        {
            await Problems.WriteAsync(ctx, StatusCodes.Status401Unauthorized, "Unauthorized",
                header.Length == 0
                    ? "The admin API needs a token: Authorization: Bearer <token>."
                    : "The token is not valid.",
                headers: ("WWW-Authenticate", header.Length == 0 ? "Bearer realm=\"prox-admin\"" : "Bearer realm=\"prox-admin\", error=\"invalid_token\""));
            return (null, false);
        }
        if (!AdminAuth.Allows(caller.Role, required))
        {
            await Problems.WriteAsync(ctx, StatusCodes.Status403Forbidden, "Forbidden",
                $"Token '{caller.Name}' has the {RoleName(caller.Role)} role; {ctx.Request.Method} needs {RoleName(required)}.");
            return (caller, false);
        }
        return (caller, true);
    }

    private static string RoleName(AdminRole role) => role == AdminRole.Write ? "write" : "read";

    private async Task RouteAsync(HttpContext ctx)
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
            case "/admin/audit" when isRead:
                await WriteJsonAsync(ctx, new { entries = audit.Entries() });
                return;
            case "/admin/chaos/crash" when HttpMethods.IsPost(ctx.Request.Method):
                await CrashAsync(ctx);
                return;
            case "/admin/config/reload" when HttpMethods.IsPost(ctx.Request.Method):
                await ReloadAsync(ctx);
                return;
            case "/admin/cache/invalidate" when HttpMethods.IsPost(ctx.Request.Method):
                await CacheAdmin.InvalidateAsync(ctx, rt.Cache);
                return;
            case "/admin/chaos/crash" or "/admin/config/reload" or "/admin/cache/invalidate":
                await Problems.WriteAsync(ctx, StatusCodes.Status405MethodNotAllowed, "Method not allowed",
                    $"{path} supports POST.", headers: ("Allow", "POST"));
                return;
            case var p when _config is not null && ConfigEndpoints.Handles(p):
                await _config.InvokeAsync(ctx);
                return;
            case "/healthz" or "/status" or "/admin/events" or "/admin/audit":
                await Problems.WriteAsync(ctx, StatusCodes.Status405MethodNotAllowed, "Method not allowed",
                    $"{path} supports GET and HEAD.", headers: ("Allow", "GET, HEAD"));
                return;
            case not null when BackendsApi.TryMatch(path, out var route, out var backendId):
                await _backends.InvokeAsync(ctx, route, backendId);
                return;
            default:
                await Problems.WriteAsync(ctx, StatusCodes.Status404NotFound, "Not found",
                    "Unknown admin endpoint. Try /status, /healthz, /admin/events or /admin/audit.");
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

    /// <summary>The Notifier's delivery state; null when it does not answer in time (the rest of /status still answers).</summary>
    private async Task<WebhookStatusReply?> WebhookStatusAsync(CancellationToken ct)
    {
        try
        {
            return await rt.Supervisor.Ask<WebhookStatusReply>(GetWebhookStatus.Instance, WebhookStatusTimeout, ct);
        }
        catch (Exception e) when (e is AskTimeoutException or OperationCanceledException)
        {
            return null; // a client gone away is answered by nobody anyway
        }
    }

    private async Task StatusAsync(HttpContext ctx)
    {
        // asked alongside the rest: in a cluster the Notifier is a singleton on another node, possibly unreachable
        var webhooksAsked = WebhookStatusAsync(ctx.RequestAborted);
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
        var webhooks = await webhooksAsked;

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
            // cluster mode only: absent (null is not written) in standalone
            cluster = cluster?.Snapshot(),
            // cluster mode only: the config version this node runs, the same on every node once a change has propagated
            configVersion = cluster is null ? null : reloader?.AppliedVersion,
            routes = status.Routes.Select(r => new
            {
                name = r.Name,
                policy = r.Policy,
                match = new { pathPrefix = r.PathPrefix, hosts = r.Hosts },
                eligible = r.Eligible,
                snapshotVersion = r.SnapshotVersion,
                backends = r.Backends,
                dedup = r.Dedup,
                cache = CacheAdmin.RouteStatus(rt, r.Name),
            }),
            cache = CacheAdmin.Status(rt.Cache),
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
