using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Prox.Actors.Config;
using Prox.Actors.ConfigHistory;
using Prox.Actors.Hocon;
using Prox.Http.Errors;
using Prox.Http.Runtime;

namespace Prox.Http.Admin;

/// <summary>
/// Dynamic backends: <c>POST /admin/routes/{route}/backends</c>, <c>PATCH</c> and <c>DELETE …/backends/{id}</c>.
/// Each change is made the way an operator would make it: a new config text (the route's backends rewritten in
/// one marked block at the end of the running text, see <see cref="HoconWriter"/>), validated in full and applied
/// like a reload, so it is diffable, recorded as a config version, and undone by a rollback. Recovery actions
/// cannot be set here (config file only): the request bodies have no such field.
/// </summary>
public sealed class BackendsEndpoints(ProxRuntime rt, IConfigReloader reloader)
{
    private static readonly TimeSpan DefaultDrain = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan MaxDrain = TimeSpan.FromMinutes(10);

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    };

    /// <summary>Body of <c>POST</c>: a new backend (the route's health, breaker and recovery apply to it).</summary>
    public sealed record NewBackend(string? Url, string? Id, int? Weight, string? Timeout, bool? Drain);

    /// <summary>Body of <c>PATCH</c>: what may change in place.</summary>
    public sealed record BackendPatch(int? Weight, bool? Drain);

    /// <summary>Maps <c>/routes/{route}/backends[/{id}]</c> under <paramref name="admin"/> (the <c>/admin</c> group).</summary>
    public void Map(IEndpointRouteBuilder admin)
    {
        admin.MapPost("/routes/{route}/backends", async ctx =>
        {
            if (await TargetAsync(ctx) is { } t) await AddAsync(ctx, t.Config, t.Route);
        });
        admin.MapPatch("/routes/{route}/backends/{id}", async ctx =>
        {
            if (await TargetAsync(ctx) is { Backend: { } b } t) await PatchAsync(ctx, t.Config, t.Route, b);
        });
        admin.MapDelete("/routes/{route}/backends/{id}", async ctx =>
        {
            if (await TargetAsync(ctx) is { Backend: { } b } t) await RemoveAsync(ctx, t.Config, t.Route, b);
        });
    }

    /// <summary>The running config with the route (and backend) the path names; null when it answered 409 (no config
    /// text) or 404 (unknown route or backend).</summary>
    private async Task<(ProxConfig Config, RouteConfig Route, BackendConfig? Backend)?> TargetAsync(HttpContext ctx)
    {
        // route values are the path as Kestrel decoded it, which keeps %2F; one more unescape, as before, lets names hold '/'
        var routeId = Uri.UnescapeDataString((string)ctx.Request.RouteValues["route"]!);
        var backendId = ctx.Request.RouteValues["id"] is string id ? Uri.UnescapeDataString(id) : null;
        if (!reloader.IsStarted || rt.Config.SourceText is null)
        {
            await Problems.WriteAsync(ctx, StatusCodes.Status409Conflict, "No config text",
                "This Prox was not started from a config file, so its backends cannot be changed at run time.");
            return null;
        }
        var cfg = rt.Config;
        if (cfg.Routes.FirstOrDefault(r => r.Id == routeId) is not { } route)
        {
            await Problems.WriteAsync(ctx, StatusCodes.Status404NotFound, "No such route", $"There is no route '{routeId}'.");
            return null;
        }
        var existing = backendId is null ? null : route.Backends.FirstOrDefault(b => b.Id == backendId);
        if (backendId is not null && existing is null)
        {
            await Problems.WriteAsync(ctx, StatusCodes.Status404NotFound, "No such backend",
                $"Route '{routeId}' has no backend '{backendId}'.");
            return null;
        }
        return (cfg, route, existing);
    }

    private async Task AddAsync(HttpContext ctx, ProxConfig cfg, RouteConfig route)
    {
        if (await ReadAsync<NewBackend>(ctx) is not { } body) return;
        if (string.IsNullOrWhiteSpace(body.Url))
        {
            await Invalid(ctx, ["url: required, an absolute http(s) URL such as \"http://127.0.0.1:5001\""]);
            return;
        }
        if (body.Id is { } id && route.Backends.Any(b => b.Id == id))
        {
            await Problems.WriteAsync(ctx, StatusCodes.Status409Conflict, "Backend exists",
                $"Route '{route.Id}' already has a backend '{id}'; PATCH it, or DELETE it first.");
            return;
        }
        var element = "{ " + string.Join(", ", new[]
        {
            body.Id is { } i ? $"id = {HoconWriter.Str(i)}" : null,
            $"url = {HoconWriter.Str(body.Url)}",
            body.Weight is { } w ? $"weight = {w}" : null,
            body.Timeout is { } t ? $"timeout = {HoconWriter.Str(t)}" : null,
            body.Drain is true ? "drain = true" : null,
        }.Where(p => p is not null)) + " }";
        var text = HoconWriter.WithBackends(cfg.SourceText!, route.Id, HoconWriter.Backends(route, route.Backends, element));
        if (await ApplyAsync(ctx, text, $"backend added to route '{route.Id}'", null) is not { } applied) return;
        var added = applied.Routes.First(r => r.Id == route.Id).Backends[^1];
        ctx.Response.StatusCode = StatusCodes.Status201Created;
        ctx.Response.Headers.Location = $"/admin/routes/{Uri.EscapeDataString(route.Id)}/backends/{Uri.EscapeDataString(added.Id)}";
        await WriteAsync(ctx, route.Id, added);
    }

    private async Task PatchAsync(HttpContext ctx, ProxConfig cfg, RouteConfig route, BackendConfig backend)
    {
        if (await ReadAsync<BackendPatch>(ctx) is not { } body) return;
        if (body.Weight is null && body.Drain is null)
        {
            await Invalid(ctx, ["the body must set weight and/or drain"]);
            return;
        }
        var changed = backend with { Weight = body.Weight ?? backend.Weight, Drain = body.Drain ?? backend.Drain };
        var text = HoconWriter.WithBackends(cfg.SourceText!, route.Id,
            HoconWriter.Backends(route, route.Backends.Select(b => b.Id == backend.Id ? changed : b)));
        if (await ApplyAsync(ctx, text, $"backend '{backend.Id}' of route '{route.Id}' changed", null) is not { } applied) return;
        await WriteAsync(ctx, route.Id, applied.Routes.First(r => r.Id == route.Id).Backends.First(b => b.Id == backend.Id));
    }

    private async Task RemoveAsync(HttpContext ctx, ProxConfig cfg, RouteConfig route, BackendConfig backend)
    {
        var drain = DefaultDrain;
        if (ctx.Request.Query["drain-timeout"].ToString() is { Length: > 0 } q)
        {
            if (!ProxConfigParser.TryParseDuration(q, out drain, out var error) || drain < TimeSpan.Zero || drain > MaxDrain)
            {
                await Problems.WriteAsync(ctx, StatusCodes.Status400BadRequest, "Bad drain-timeout",
                    $"drain-timeout must be a duration from 0s to 10m such as 30s{(error.Length > 0 ? $" ({error})" : "")}.");
                return;
            }
        }
        var text = HoconWriter.WithBackends(cfg.SourceText!, route.Id,
            HoconWriter.Backends(route, route.Backends.Where(b => b.Id != backend.Id)));
        if (await ApplyAsync(ctx, text, $"backend '{backend.Id}' removed from route '{route.Id}'", drain) is null) return;
        // the backend is out of rotation now; its in-flight requests finish within the drain time
        ctx.Response.StatusCode = StatusCodes.Status202Accepted;
        await WriteJsonAsync(ctx, new RemovedBody(route.Id, backend.Id, drain.TotalSeconds));
    }

    /// <summary>Applies the new text; on failure answers 422 with every error and returns null.</summary>
    private async Task<ProxConfig?> ApplyAsync(HttpContext ctx, string text, string what, TimeSpan? drain)
    {
        var result = await reloader.ApplyTextAsync(text, ConfigSources.Api, AdminGate.Author(ctx), what, drain, ctx.RequestAborted);
        if (!result.Ok)
        {
            await Invalid(ctx, result.Errors);
            return null;
        }
        return rt.Config;
    }

    private static Task Invalid(HttpContext ctx, IReadOnlyList<string> errors) =>
        Problems.WriteAsync(ctx, StatusCodes.Status422UnprocessableEntity, "Invalid backend",
            "The change would make the config invalid; nothing was changed.", errors: errors);

    private static async Task<T?> ReadAsync<T>(HttpContext ctx) where T : class
    {
        if (ctx.Request.ContentType is not { } type || !type.StartsWith("application/json", StringComparison.OrdinalIgnoreCase))
        {
            await Problems.WriteAsync(ctx, StatusCodes.Status415UnsupportedMediaType, "JSON expected",
                "Send the backend as application/json.");
            return null;
        }
        try
        {
            return await JsonSerializer.DeserializeAsync<T>(ctx.Request.Body, Json, ctx.RequestAborted)
                ?? throw new JsonException("empty body");
        }
        catch (JsonException e)
        {
            await Problems.WriteAsync(ctx, StatusCodes.Status400BadRequest, "Malformed body",
                $"The body is not a valid {typeof(T).Name} object: {e.Message}");
            return null;
        }
    }

    private static Task WriteAsync(HttpContext ctx, string route, BackendConfig b) =>
        WriteJsonAsync(ctx, new BackendBody(route,
            new BackendView(b.Id, b.Url.OriginalString, b.Weight, b.Timeout?.TotalSeconds, b.Drain)));

    private static Task WriteJsonAsync<T>(HttpContext ctx, T value)
    {
        ctx.Response.ContentType = "application/json";
        return JsonSerializer.SerializeAsync(ctx.Response.Body, value, AdminEndpoints.Json, ctx.RequestAborted);
    }

    /// <summary>The answer to an added or changed backend.</summary>
    private sealed record BackendBody(string Route, BackendView Backend);

    /// <summary>A backend as the API shows it; <paramref name="Timeout"/> (seconds) is left out when the route's applies.</summary>
    private sealed record BackendView(string Id, string Url, int Weight, double? Timeout, bool Drain);

    /// <summary>The answer to a removal: the backend finishes its in-flight requests within the drain time.</summary>
    private sealed record RemovedBody(string Route, string Removed, double DrainTimeoutSeconds);
}
