using System.Text;
using Akka.Actor;
using Microsoft.AspNetCore.Http;
using Prox.Actors.ConfigHistory;
using Prox.Http.Errors;

namespace Prox.Http.Admin;

/// <summary>
/// The config history on the admin listener: <c>GET /admin/config</c> (current), <c>GET /admin/config/versions</c>
/// (paged, newest first), <c>GET /admin/config/versions/{n}</c>, <c>GET /admin/config/diff?from=a&amp;to=b</c>,
/// <c>PUT /admin/config</c> (validate and apply a full config) and <c>POST /admin/config/rollback?to=n</c>.
/// Applying goes through <see cref="IConfigReloader"/>, the same path as a file reload.
/// </summary>
public sealed class ConfigEndpoints(ProxRuntime rt, IConfigReloader reloader)
{
    /// <summary>Where the admin authentication puts the caller's name (an API key's name).</summary>
    public const string IdentityItem = "prox.admin.identity";

    public const string CommentHeader = "X-Prox-Comment";

    /// <summary>Largest config text <c>PUT /admin/config</c> accepts.</summary>
    public const int MaxConfigBytes = 1 << 20;

    public const int DefaultPageSize = 20;
    public const int MaxPageSize = 100;

    private static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(5);
    private static readonly UTF8Encoding StrictUtf8 = new(false, throwOnInvalidBytes: true);

    /// <summary>True for the paths this class answers (<c>/admin/config/reload</c> stays with <see cref="AdminHandler"/>).</summary>
    public static bool Handles(string? path) =>
        path is "/admin/config" or "/admin/config/versions" or "/admin/config/diff" or "/admin/config/rollback"
        || (path?.StartsWith("/admin/config/versions/", StringComparison.Ordinal) ?? false);

    public async Task InvokeAsync(HttpContext ctx)
    {
        if (!reloader.IsStarted)
        {
            // the listeners are up before start-up has chosen between the file and the stored history
            await Problems.WriteAsync(ctx, StatusCodes.Status503ServiceUnavailable, "Starting",
                "Prox is still choosing the config to start on; try again in a moment.", retryAfterSeconds: 1);
            return;
        }
        var path = ctx.Request.Path.Value!;
        var method = ctx.Request.Method;
        var isRead = HttpMethods.IsGet(method) || HttpMethods.IsHead(method);
        switch (path)
        {
            case "/admin/config" when isRead:
                await VersionAsync(ctx, null);
                return;
            case "/admin/config" when HttpMethods.IsPut(method):
                await PutAsync(ctx);
                return;
            case "/admin/config":
                await NotAllowedAsync(ctx, "GET, HEAD, PUT");
                return;
            case "/admin/config/versions" when isRead:
                await VersionsAsync(ctx);
                return;
            case "/admin/config/diff" when isRead:
                await DiffAsync(ctx);
                return;
            case "/admin/config/rollback" when HttpMethods.IsPost(method):
                await RollbackAsync(ctx);
                return;
            case "/admin/config/rollback":
                await NotAllowedAsync(ctx, "POST");
                return;
            case "/admin/config/versions" or "/admin/config/diff":
                await NotAllowedAsync(ctx, "GET, HEAD");
                return;
        }
        // /admin/config/versions/{n}
        if (!isRead)
        {
            await NotAllowedAsync(ctx, "GET, HEAD");
            return;
        }
        var n = path["/admin/config/versions/".Length..];
        if (!long.TryParse(n, System.Globalization.NumberStyles.None, null, out var number))
        {
            await Problems.WriteAsync(ctx, StatusCodes.Status404NotFound, "Unknown version", $"'{Clip(n)}' is not a version number.");
            return;
        }
        await VersionAsync(ctx, number);
    }

    private static Task NotAllowedAsync(HttpContext ctx, string allow) =>
        Problems.WriteAsync(ctx, StatusCodes.Status405MethodNotAllowed, "Method not allowed",
            $"{ctx.Request.Path.Value} supports {allow}.", headers: ("Allow", allow));

    /// <summary>The caller's admin identity, set by admin authentication; <c>anonymous</c> without it.</summary>
    public static string Author(HttpContext ctx) =>
        ctx.Items.TryGetValue(IdentityItem, out var v) && v is string { Length: > 0 } s ? s : "anonymous";

    private static string Comment(HttpContext ctx)
    {
        var q = ctx.Request.Query["comment"].ToString();
        return (q.Length > 0 ? q : ctx.Request.Headers[CommentHeader].ToString()).Trim();
    }

    private async Task<T?> AskAsync<T>(HttpContext ctx, object query) where T : class
    {
        try
        {
            return await rt.Supervisor.Ask<T>(query, AskTimeout, ctx.RequestAborted);
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

    private async Task VersionAsync(HttpContext ctx, long? number)
    {
        if (await FindAsync(ctx, number) is not { } v) return;
        await AdminHandler.WriteJsonAsync(ctx, new
        {
            version = v.Number,
            at = v.At,
            source = v.Source,
            author = v.Author,
            comment = v.Comment,
            text = v.Text,
        });
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
        await AdminHandler.WriteJsonAsync(ctx, new
        {
            versions = page.Versions.Select(v => new
            {
                version = v.Number,
                at = v.At,
                source = v.Source,
                author = v.Author,
                comment = v.Comment,
                bytes = v.Bytes,
            }),
            next = page.Next,
        });
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
        await AdminHandler.WriteJsonAsync(ctx, new
        {
            from = a.Number,
            to = b.Number,
            unified = LineDiff.Unified(a.Text, b.Text, $"version {a.Number}", $"version {b.Number}"),
            changed = ConfigTreeDiff.ChangedPaths(a.Text, b.Text) ?? [],
        });
    }

    private async Task PutAsync(HttpContext ctx)
    {
        var type = ctx.Request.ContentType;
        if (type is not null && !IsText(type))
        {
            await Problems.WriteAsync(ctx, StatusCodes.Status415UnsupportedMediaType, "Unsupported media type",
                $"Send the full config as text (text/plain, application/hocon or application/json), not {Clip(type)}.");
            return;
        }
        if (ctx.Request.ContentLength > MaxConfigBytes)
        {
            await TooLargeAsync(ctx);
            return;
        }
        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await ctx.Request.Body.ReadAsync(chunk, ctx.RequestAborted)) > 0)
        {
            if (buffer.Length + read > MaxConfigBytes)
            {
                await TooLargeAsync(ctx);
                return;
            }
            buffer.Write(chunk, 0, read);
        }
        string text;
        try
        {
            text = StrictUtf8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
        }
        catch (DecoderFallbackException)
        {
            await Problems.WriteAsync(ctx, StatusCodes.Status415UnsupportedMediaType, "Unsupported media type",
                "The body is not UTF-8 text.");
            return;
        }
        if (string.IsNullOrWhiteSpace(text))
        {
            await Problems.WriteAsync(ctx, StatusCodes.Status400BadRequest, "Empty config",
                "Send the full config (HOCON or JSON) as the body.");
            return;
        }

        var result = await reloader.ApplyTextAsync(text, ConfigSources.Api, Author(ctx), Comment(ctx), ct: ctx.RequestAborted);
        if (!result.Ok)
        {
            await Problems.WriteAsync(ctx, StatusCodes.Status422UnprocessableEntity, "Config rejected",
                $"The config has {result.Errors.Length} error(s); the running config is unchanged.", errors: result.Errors);
            return;
        }
        await WriteAppliedAsync(ctx, result);
    }

    private async Task RollbackAsync(HttpContext ctx)
    {
        if (!long.TryParse(ctx.Request.Query["to"].ToString(), out var to))
        {
            await Problems.WriteAsync(ctx, StatusCodes.Status400BadRequest, "Bad version",
                "Name the version to roll back to: /admin/config/rollback?to=N.");
            return;
        }
        if (await FindAsync(ctx, to) is not { } target) return;
        var user = Comment(ctx);
        var comment = user.Length == 0 ? $"rollback to {to}" : $"rollback to {to}: {user}";
        var result = await reloader.ApplyTextAsync(target.Text, ConfigSources.Rollback, Author(ctx), comment, ct: ctx.RequestAborted);
        if (!result.Ok)
        {
            await Problems.WriteAsync(ctx, StatusCodes.Status422UnprocessableEntity, "Version no longer valid",
                $"Version {to} does not validate any more ({result.Errors.Length} error(s), e.g. an environment variable it " +
                "uses is no longer set); the running config is unchanged.", errors: result.Errors);
            return;
        }
        await WriteAppliedAsync(ctx, result);
    }

    private static Task WriteAppliedAsync(HttpContext ctx, ReloadResult result) =>
        AdminHandler.WriteJsonAsync(ctx, new
        {
            applied = true,
            version = result.Version?.Number,
            at = result.Version?.At,
            source = result.Version?.Source,
            author = result.Version?.Author,
            comment = result.Version?.Comment,
            changed = result.ChangedPaths,
            routes = result.Changes,
            restartNeeded = result.RestartNeeded,
            warning = result.Version is null ? "applied, but the config store did not record it (see the log)" : null,
        });

    private static Task TooLargeAsync(HttpContext ctx) =>
        Problems.WriteAsync(ctx, StatusCodes.Status413PayloadTooLarge, "Config too large",
            $"A config may be at most {MaxConfigBytes / 1024} KiB.");

    private static bool IsText(string contentType)
    {
        var media = contentType.Split(';')[0].Trim();
        return media.StartsWith("text/", StringComparison.OrdinalIgnoreCase)
               || media.Equals("application/json", StringComparison.OrdinalIgnoreCase)
               || media.Equals("application/hocon", StringComparison.OrdinalIgnoreCase);
    }

    private static string Clip(string s) => s.Length <= 60 ? s : s[..57] + "...";
}
