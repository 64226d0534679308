using System.Collections.Immutable;
using System.Text;
using Microsoft.AspNetCore.Http;
using Prox.Actors.ConfigHistory;
using Prox.Actors.Routing;
using Prox.Http.Errors;

namespace Prox.Http.Admin;

/// <summary>The config endpoints that apply a config: <c>PUT /admin/config</c>, the rollback and the file reload.</summary>
public sealed partial class ConfigEndpoints
{
    private static readonly UTF8Encoding StrictUtf8 = new(false, throwOnInvalidBytes: true);

    /// <summary><c>POST /admin/config/reload</c>: re-read the config file and apply it (as SIGHUP does).</summary>
    private async Task ReloadAsync(HttpContext ctx)
    {
        if (reloader.FilePath is null)
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
        await AdminEndpoints.WriteJsonAsync(ctx, new ReloadedBody(true, result.Version?.Number, result.Recorded,
            result.ChangedPaths, result.Changes, result.RestartNeeded));
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

        var result = await reloader.ApplyTextAsync(text, ConfigSources.Api, AdminGate.Author(ctx), Comment(ctx), ct: ctx.RequestAborted);
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
        var result = await reloader.ApplyTextAsync(target.Text, ConfigSources.Rollback, AdminGate.Author(ctx), comment, ct: ctx.RequestAborted);
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
        AdminEndpoints.WriteJsonAsync(ctx, new AppliedBody(
            true,
            result.Version?.Number,
            result.Version?.At,
            result.Version?.Source,
            result.Version?.Author,
            result.Version?.Comment,
            result.ChangedPaths,
            result.Changes,
            result.RestartNeeded,
            result.Version is null ? "applied, but the config store did not record it (see the log)" : null));

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

    /// <summary>The answer to a file reload; <paramref name="Version"/> is null when the store did not record it.</summary>
    private sealed record ReloadedBody(bool Applied, long? Version, bool Recorded, ImmutableArray<string> Changed,
        ConfigApplied? Routes, ImmutableArray<string> RestartNeeded);

    /// <summary>The answer to an applied <c>PUT</c> or rollback; the version's fields are null (left out) when the
    /// store did not record it, and then <paramref name="Warning"/> says so.</summary>
    private sealed record AppliedBody(bool Applied, long? Version, DateTimeOffset? At, string? Source, string? Author,
        string? Comment, ImmutableArray<string> Changed, ConfigApplied? Routes, ImmutableArray<string> RestartNeeded,
        string? Warning);
}
