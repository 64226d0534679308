using Akka.Actor;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Prox.Actors.ConfigHistory;
using Prox.Http.Errors;
using Prox.Http.Runtime;

namespace Prox.Http.Admin;

/// <summary>
/// The config history on the admin listener: <c>GET /admin/config</c> (current), <c>GET /admin/config/versions</c>
/// (paged, newest first), <c>GET /admin/config/versions/{n}</c>, <c>GET /admin/config/diff?from=a&amp;to=b</c>,
/// <c>PUT /admin/config</c> (validate and apply a full config), <c>POST /admin/config/rollback?to=n</c> and
/// <c>POST /admin/config/reload</c> (re-read the file, as SIGHUP does). Applying goes through
/// <see cref="IConfigReloader"/>, the same path as a file reload.
/// </summary>
public sealed partial class ConfigEndpoints(ProxRuntime rt, IConfigReloader reloader)
{
    public const string CommentHeader = "X-Prox-Comment";

    /// <summary>Largest config text <c>PUT /admin/config</c> accepts.</summary>
    public const int MaxConfigBytes = 1 << 20;

    public const int DefaultPageSize = 20;
    public const int MaxPageSize = 100;

    /// <summary>The display name every config history endpoint carries (not <c>/admin/config/reload</c>).</summary>
    public const string HistoryGroup = "admin: config history";

    /// <summary>Maps the config endpoints under <paramref name="admin"/> (the <c>/admin</c> group).</summary>
    public void Map(IEndpointRouteBuilder admin)
    {
        admin.MapPost("/config/reload", ReloadAsync);

        var history = admin.MapGroup("/config").AddEndpointFilter(StartedAsync).WithGroupName(HistoryGroup);
        history.MapMethods("", AdminEndpoints.Read, ctx => VersionAsync(ctx, null));
        history.MapPut("", PutAsync);
        history.MapMethods("/versions", AdminEndpoints.Read, VersionsAsync);
        // a catch-all, so "/versions/3/x" is an unknown version as before, not an unknown endpoint
        history.MapMethods("/versions/{**number}", AdminEndpoints.Read, NumberedVersionAsync);
        history.MapMethods("/diff", AdminEndpoints.Read, DiffAsync);
        history.MapPost("/rollback", RollbackAsync);
    }

    /// <summary>The listeners are up before start-up has chosen between the file and the stored history: until then
    /// the history answers 503.</summary>
    private async ValueTask<object?> StartedAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        if (reloader.IsStarted) return await next(context);
        await Problems.WriteAsync(context.HttpContext, StatusCodes.Status503ServiceUnavailable, "Starting",
            "Prox is still choosing the config to start on; try again in a moment.", retryAfterSeconds: 1);
        return Results.Empty;
    }

    private static string Comment(HttpContext ctx)
    {
        var q = ctx.Request.Query["comment"].ToString();
        return (q.Length > 0 ? q : ctx.Request.Headers[CommentHeader].ToString()).Trim();
    }

    private async Task<T?> AskAsync<T>(HttpContext ctx, object query) where T : class
    {
        try
        {
            return await rt.Supervisor.Ask<T>(query, AdminEndpoints.AskTimeout, ctx.RequestAborted);
        }
        catch (Exception e) when (e is AskTimeoutException or TaskCanceledException)
        {
            await Problems.WriteAsync(ctx, StatusCodes.Status503ServiceUnavailable, "Config history unavailable",
                "The config store did not answer in time (its database may be failing; see the log).", retryAfterSeconds: 1);
            return null;
        }
    }

    private async Task<ConfigVersion?> FindAsync(HttpContext ctx, long? number)
    {
        if (await AskAsync<ConfigVersionReply>(ctx, new GetConfigVersion(number)) is not { } reply) return null;
        if (reply.Version is null)
            await Problems.WriteAsync(ctx, StatusCodes.Status404NotFound, "Unknown version", number is null
                ? "The config history is empty."
                : $"Version {number} does not exist or was trimmed (prox.config-history.keep); see /admin/config/versions.");
        return reply.Version;
    }

    private Task NumberedVersionAsync(HttpContext ctx)
    {
        var n = ctx.Request.Path.Value!["/admin/config/versions/".Length..];
        return long.TryParse(n, System.Globalization.NumberStyles.None, null, out var number)
            ? VersionAsync(ctx, number)
            : Problems.WriteAsync(ctx, StatusCodes.Status404NotFound, "Unknown version", $"'{Clip(n)}' is not a version number.");
    }

    private async Task VersionAsync(HttpContext ctx, long? number)
    {
        if (await FindAsync(ctx, number) is not { } v) return;
        await AdminEndpoints.WriteJsonAsync(ctx, new VersionBody(v.Number, v.At, v.Source, v.Author, v.Comment, v.Text));
    }

    private async Task VersionsAsync(HttpContext ctx)
    {
        var q = ctx.Request.Query;
        var limit = DefaultPageSize;
        long? before = null;
        if (q["limit"].ToString() is { Length: > 0 } l && (!int.TryParse(l, out limit) || limit is < 1 or > MaxPageSize))
        {
            await Problems.WriteAsync(ctx, StatusCodes.Status400BadRequest, "Bad limit", $"limit must be an integer from 1 to {MaxPageSize}.");
            return;
        }
        if (q["before"].ToString() is { Length: > 0 } b)
        {
            if (!long.TryParse(b, out var parsed) || parsed < 1)
            {
                await Problems.WriteAsync(ctx, StatusCodes.Status400BadRequest, "Bad before", "before must be a version number.");
                return;
            }
            before = parsed;
        }
        if (await AskAsync<ConfigVersionsPage>(ctx, new GetConfigVersions(before, limit)) is not { } page) return;
        await AdminEndpoints.WriteJsonAsync(ctx, new VersionsBody(
            page.Versions.Select(v => new VersionSummary(v.Number, v.At, v.Source, v.Author, v.Comment, v.Bytes)),
            page.Next));
    }

    private async Task DiffAsync(HttpContext ctx)
    {
        var q = ctx.Request.Query;
        if (!long.TryParse(q["from"].ToString(), out var from) || !long.TryParse(q["to"].ToString(), out var to))
        {
            await Problems.WriteAsync(ctx, StatusCodes.Status400BadRequest, "Bad versions",
                "Name two versions: /admin/config/diff?from=A&to=B.");
            return;
        }
        if (await FindAsync(ctx, from) is not { } a || await FindAsync(ctx, to) is not { } b) return;
        await AdminEndpoints.WriteJsonAsync(ctx, new DiffBody(
            a.Number,
            b.Number,
            LineDiff.Unified(a.Text, b.Text, $"version {a.Number}", $"version {b.Number}"),
            ConfigTreeDiff.ChangedPaths(a.Text, b.Text) ?? []));
    }

    private static string Clip(string s) => s.Length <= 60 ? s : s[..57] + "...";

    /// <summary>One version with its text (<c>/admin/config</c>, <c>/admin/config/versions/{n}</c>).</summary>
    private sealed record VersionBody(long Version, DateTimeOffset At, string Source, string Author, string Comment, string Text);

    /// <summary>A page of <c>/admin/config/versions</c>: pass <paramref name="Next"/> as <c>before</c> for the next one.</summary>
    private sealed record VersionsBody(IEnumerable<VersionSummary> Versions, long? Next);

    private sealed record VersionSummary(long Version, DateTimeOffset At, string Source, string Author, string Comment, int Bytes);

    private sealed record DiffBody(long From, long To, string Unified, IReadOnlyList<string> Changed);
}
